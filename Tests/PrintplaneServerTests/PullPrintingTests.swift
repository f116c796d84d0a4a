import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PrintplaneCore
import ServiceLifecycle
import Testing

@testable import PrintplaneServer

/// A directory stand-in behind the ``UserAuthenticator`` seam: alice's password is "s3cret".
struct FixedPasswordAuthenticator: UserAuthenticator {
    func authenticate(_ credentials: UserCredentials) async throws -> PrintUser? {
        guard case .password(let user, let password) = credentials else { return nil }
        guard user.lowercased() == "alice", SecretToken.constantTimeEquals(Array(password.utf8), Array("s3cret".utf8)) else {
            throw ServerError.invalidCredentials
        }
        return PrintUser(name: "alice", actor: "alice (directory)")
    }
}

/// Pull printing through the real HTTP stack over TLS: registration, the user API, the
/// release long-poll, check-ins carrying releases, expiry, and bad input.
@Suite("Pull printing over TLS")
struct PullPrintingTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func held(_ id: String, user: String = "alice", hours: Double = 24, at: Date = now) -> HeldJobRegistration {
        HeldJobRegistration(
            jobID: JobID(id), user: user, computer: "ws-1", printer: "hq-1", documentName: "payslip-\(id).pdf", pages: 2, copies: 1,
            color: false, duplex: false, bytes: 2048, protocol: .raw, heldAt: at, expiresAt: at.addingTimeInterval(hours * 3600))
    }

    /// A printer (and, for alice, a duplex profile on it) made through the admin API.
    static func makePrinter(_ server: TestServer, name: String, protocol: String, port: Int, profileFor user: String? = nil) async throws -> PrinterRecord {
        let created = try await server.admin(.POST, "/api/v1/admin/printers", json: ["name": name, "address": "127.0.0.9", "protocol": `protocol`, "port": port])
        #expect(created.status == 201, "\(created.text)")
        let printer = try created.decode(PrinterRecord.self)
        if let user {
            let profile = try await server.admin(.POST, "/api/v1/admin/profiles", json: ["name": "\(name) duplex", "duplex": "long_edge", "color": true, "copies": 2])
            let profileID = try profile.decode(ProfileRecord.self).id
            let assignment = try await server.admin(.POST, "/api/v1/admin/assignments", json: [
                "printer_id": printer.id.rawValue, "profile_id": profileID.rawValue, "target": ["kind": "user", "value": user],
            ])
            #expect(assignment.status == 201, "\(assignment.text)")
        }
        return printer
    }

    @Test("registration: idempotent by job ID, per-record refusals, expiries capped by --held-job-ttl")
    func registration() async throws {
        try await withTestServer(configure: {
            $0.heldJobTTL = .seconds(3600)
            $0.clock = { Self.now }
        }) { server in
            let agent = try await server.enrolledAgent()
            var bad = Self.held("bad")
            bad.copies = 0
            let malformed = #"{"jobs": [\#(String(decoding: try server.json(Self.held("r1")), as: UTF8.self)), {"job_id": "m1", "pages": "many"}, \#(String(decoding: try server.json(bad), as: UTF8.self)), \#(String(decoding: try server.json(Self.held("r2", hours: 0.5)), as: UTF8.self))]}"#
            let first = try await server.request(.POST, "/api/v1/agent/held-jobs", body: Data(malformed.utf8), bearer: agent.deviceCredential)
            #expect(first.status == 200, "\(first.text)")
            let answer = try first.decode(HeldJobBatchResponse.self)
            #expect(answer.accepted == ["r1", "r2"] && answer.duplicates.isEmpty)
            #expect(answer.rejected.map(\.index) == [1, 2])
            #expect(answer.rejected.map(\.reason) == ["malformed_record", "invalid_record"])
            #expect(answer.rejected.map(\.jobID) == ["m1", "bad"])
            #expect(answer.expiresAt["r1"] == Self.now.addingTimeInterval(3600), "24 h asked, 1 h kept")
            #expect(answer.expiresAt["r2"] == Self.now.addingTimeInterval(1800), "shorter than the cap: as asked")

            let again = try await server.registerHeld(agent.deviceCredential, [Self.held("r1"), Self.held("r3")]).decode(HeldJobBatchResponse.self)
            #expect(again.accepted == ["r3"] && again.duplicates == ["r1"])
            let listed = try await server.asUser("alice", .GET, "/api/v1/user/held-jobs").decode(UserAPI.HeldJobList.self)
            #expect(listed.items.count == 3)
            #expect(listed.items.first { $0.job.jobID == "r1" }?.job.expiresAt == Self.now.addingTimeInterval(3600))
        }
    }

    @Test("bad input: oversized and malformed batches, wrong media type, no credential, wait out of range")
    func badInput() async throws {
        try await withTestServer(configure: {
            $0.maxJobsPerBatch = 5
            $0.maxJobBatchBytes = 8 * 1024
        }) { server in
            let agent = try await server.enrolledAgent()
            let six = (0..<6).map { Self.held("b\($0)") }
            let tooMany = try await server.registerHeld(agent.deviceCredential, six)
            #expect(tooMany.status == 400 && tooMany.reason == "invalid_field", "\(tooMany.text)")
            let huge = try await server.request(.POST, "/api/v1/agent/held-jobs", body: Data(repeating: 0x20, count: 9 * 1024), bearer: agent.deviceCredential)
            #expect(huge.status == 413 && huge.reason == "body_too_large")
            let garbage = try await server.request(.POST, "/api/v1/agent/held-jobs", body: Data("{\"jobs\": 7}".utf8), bearer: agent.deviceCredential)
            #expect(garbage.status == 400 && garbage.reason == "malformed_json")
            let text = try await server.request(.POST, "/api/v1/agent/held-jobs", body: try server.json(HeldJobBatch(jobs: [])), contentType: "text/plain", bearer: agent.deviceCredential)
            #expect(text.status == 415)
            let anonymous = try await server.request(.POST, "/api/v1/agent/held-jobs", body: try server.json(HeldJobBatch(jobs: [])))
            #expect(anonymous.status == 401 && anonymous.reason == "credential_missing")
            let adminKey = try await server.registerHeld(server.adminKey, [Self.held("x")])
            #expect(adminKey.status == 401, "the admin key is not a device credential")
            #expect(try await server.server.store.heldJobTotals(matching: JobFilter()) == HeldJobTotals(), "nothing stored")

            for wait in ["31", "-1", "abc", "1.5", "99999999999999999999"] {
                let poll = try await server.request(.GET, "/api/v1/agent/releases?wait=\(wait)", bearer: agent.deviceCredential)
                #expect(poll.status == 400 && poll.reason == "invalid_field", "wait=\(wait): \(poll.text)")
            }
            let unauthenticated = try await server.request(.GET, "/api/v1/agent/releases?wait=1")
            #expect(unauthenticated.status == 401)
            let idle = ContinuousClock.now
            let empty = try await server.request(.GET, "/api/v1/agent/releases?wait=1", bearer: agent.deviceCredential)
            #expect(empty.status == 204 && empty.body.isEmpty)
            #expect(ContinuousClock.now - idle >= .milliseconds(900), "it waited")
            let immediate = try await server.request(.GET, "/api/v1/agent/releases", bearer: agent.deviceCredential)
            #expect(immediate.status == 204)
        }
    }

    @Test("the user API: own jobs only, release by name or ID with the right profile, once; cancel; audit; reports")
    func userAPI() async throws {
        try await withTestServer(configure: { $0.clock = { Self.now } }) { server in
            let agent = try await server.enrolledAgent(hostname: "ws-1")
            let floor2 = try await Self.makePrinter(server, name: "Floor 2", protocol: "lpr", port: 5515, profileFor: "alice")
            let annex = try await Self.makePrinter(server, name: "Annex", protocol: "raw", port: 9109)
            let registered = try await server.registerHeld(agent.deviceCredential, [Self.held("a1"), Self.held("a2"), Self.held("a3"), Self.held("b1", user: "bob")])
            #expect(registered.status == 200)

            // Authentication.
            #expect(try await server.request(.GET, "/api/v1/user/held-jobs").reason == "credential_missing")
            let noUser = try await server.request(.GET, "/api/v1/user/held-jobs", bearer: server.adminKey)
            #expect(noUser.status == 400 && noUser.reason == "invalid_field")
            let wrongKey = try await server.request(.GET, "/api/v1/user/held-jobs?user=alice", bearer: "ppa_wrong")
            #expect(wrongKey.status == 401 && wrongKey.reason == "admin_key_invalid")
            let basic = try await server.request(.GET, "/api/v1/user/held-jobs", headers: [("Authorization", "Basic " + Data("alice:pw".utf8).base64EncodedString())])
            #expect(basic.status == 401 && basic.reason == "directory_not_configured", "\(basic.text)")
            let garbled = try await server.request(.GET, "/api/v1/user/held-jobs", headers: [("Authorization", "Basic !!!")])
            #expect(garbled.status == 401 && garbled.reason == "credential_malformed")

            // Listing: each user sees their own jobs (by query or header, any case).
            let alices = try await server.request(.GET, "/api/v1/user/held-jobs?user=ALICE", bearer: server.adminKey).decode(UserAPI.HeldJobList.self)
            #expect(Set(alices.items.map(\.job.jobID)) == ["a1", "a2", "a3"])
            #expect(try await server.asUser("bob", .GET, "/api/v1/user/held-jobs").decode(UserAPI.HeldJobList.self).items.map(\.job.jobID) == ["b1"])
            #expect(try await server.asUser("bob", .GET, "/api/v1/user/held-jobs?state=released").decode(UserAPI.HeldJobList.self).items.isEmpty)
            #expect(try await server.asUser("bob", .GET, "/api/v1/user/held-jobs?state=lost").status == 400)

            // Someone else's job, an unknown job, an unknown printer, an ambiguous body.
            #expect(try await server.asUser("bob", .POST, "/api/v1/user/held-jobs/a1/release", json: ["printer": "Floor 2"]).status == 404)
            #expect(try await server.asUser("bob", .POST, "/api/v1/user/held-jobs/a1/cancel").status == 404)
            #expect(try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/zz/release", json: ["printer": "Floor 2"]).status == 404)
            let noPrinter = try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/a1/release", json: ["printer": "Basement"])
            #expect(noPrinter.status == 404 && noPrinter.text.contains("printer"))
            #expect(try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/a1/release", json: ["printer": "Annex", "printer_id": annex.id.rawValue]).status == 400)
            #expect(try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/a1/release", json: [:]).status == 400)

            // Release by name: the agent is told the printer and alice's profile there.
            let released = try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/a1/release", json: ["printer": "floor 2"])
            #expect(released.status == 200, "\(released.text)")
            #expect(try released.decode(HeldJobStatus.self).state == .released)
            let again = try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/a1/release", json: ["printer": "Annex"])
            #expect(again.status == 409 && again.reason == "held_job_not_held")
            let poll = try await server.request(.GET, "/api/v1/agent/releases?wait=0", bearer: agent.deviceCredential)
            #expect(poll.status == 200)
            let pending = try poll.decode(PendingReleases.self)
            let release = try #require(pending.releases.first)
            #expect(pending.releases.count == 1 && release.job == Self.held("a1"))
            #expect(release.printer.id == floor2.id && release.printer.address == "127.0.0.9" && release.printer.protocol == .lpr)
            #expect(release.printer.port == 5515 && release.printer.queue == "lp" && release.printer.driver == nil)
            #expect(release.printer.profile == PrintProfile(duplex: .longEdge, color: true, paper: "A4", tray: nil, copies: 2))
            #expect(release.releasedBy.contains("for alice"))

            // The check-in carries it too, on the unchanged path as well.
            let checkIn = try await server.checkIn(agent.deviceCredential, user: "alice").decode(CheckInResponse.self)
            #expect(checkIn.releases?.releases.map(\.job.jobID) == ["a1"])
            let unchanged = try await server.checkIn(agent.deviceCredential, user: "alice", etag: checkIn.etag).decode(CheckInResponse.self)
            #expect(unchanged.status == .unchanged && unchanged.releases?.releases.map(\.job.jobID) == ["a1"])

            // Ten releases of one job at once (through the API): exactly one wins.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<10 {
                    group.addTask {
                        try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/a2/release", json: index % 2 == 0 ? ["printer": "Annex"] : ["printer_id": floor2.id.rawValue]).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1 && statuses.filter { $0 == 409 }.count == 9, "\(statuses)")

            // Cancel: once; the agent is told to delete it.
            let cancelled = try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/a3/cancel")
            #expect(cancelled.status == 200)
            #expect(try cancelled.decode(HeldJobStatus.self).state == .cancelled)
            #expect(try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/a3/cancel").reason == "held_job_not_held")
            #expect(try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/a3/release", json: ["printer": "Annex"]).reason == "held_job_not_held")
            let work = try await server.request(.GET, "/api/v1/agent/releases", bearer: agent.deviceCredential).decode(PendingReleases.self)
            #expect(work.releases.count == 2 && work.cancelled.map(\.jobID) == ["a3"])

            // The agent reports: printed, failed (with why), cancelled. Nothing is pending after.
            var printed = Self.held("a1").record(outcome: .printed, completedAt: Self.now.addingTimeInterval(10))
            printed.printer = "Floor 2"
            let failed = Self.held("a2").record(outcome: .failed, completedAt: Self.now.addingTimeInterval(11), failure: "printer: connection refused")
            let discarded = Self.held("a3").record(outcome: .cancelled, completedAt: Self.now.addingTimeInterval(12))
            #expect(try await server.postJobs(agent.deviceCredential, [printed, failed, discarded]).status == 200)
            #expect(try await server.request(.GET, "/api/v1/agent/releases", bearer: agent.deviceCredential).status == 204)
            let states = try await server.asUser("alice", .GET, "/api/v1/user/held-jobs").decode(UserAPI.HeldJobList.self).items
            #expect(Dictionary(uniqueKeysWithValues: states.map { ($0.job.jobID, $0.state) }) == ["a1": .printed, "a2": .failed, "a3": .cancelled])
            #expect(states.first { $0.job.jobID == "a2" }?.failure == "printer: connection refused")
            #expect(states.first { $0.job.jobID == "a1" }?.releasedTo == "Floor 2")

            // Audited, and counted.
            let audit = try await server.admin(.GET, "/api/v1/admin/audit").text
            #expect(audit.components(separatedBy: "held_job.release").count - 1 == 2, "two releases happened")
            #expect(audit.contains("held_job.cancel") && audit.contains("for alice"))
            let totals = try await server.admin(.GET, "/api/v1/admin/reports/held").decode(HeldJobTotals.self)
            #expect(totals == HeldJobTotals(held: 1, printed: 1, failed: 1, cancelled: 1))
            #expect(try await server.admin(.GET, "/api/v1/admin/reports/held?user=bob").decode(HeldJobTotals.self) == HeldJobTotals(held: 1))
            let jobTotals = try await server.admin(.GET, "/api/v1/admin/reports/totals?user=alice").decode(JobTotals.self)
            #expect(jobTotals.jobs == 3 && jobTotals.pages == 2, "the jobs report has each held job's one record")
        }
    }

    @Test("HTTP Basic goes to the plugged-in authenticator: the right password lists, a wrong one is refused")
    func pluggedInAuthenticator() async throws {
        try await withTestServer(userAuthenticators: [FixedPasswordAuthenticator()]) { server in
            let agent = try await server.enrolledAgent()
            _ = try await server.registerHeld(agent.deviceCredential, [Self.held("p1"), Self.held("p2", user: "bob")])
            func basic(_ user: String, _ password: String) -> [(String, String)] {
                [("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())]
            }
            let mine = try await server.request(.GET, "/api/v1/user/held-jobs", headers: basic("Alice", "s3cret"))
            #expect(mine.status == 200)
            #expect(try mine.decode(UserAPI.HeldJobList.self).items.map(\.job.jobID) == ["p1"])
            let wrong = try await server.request(.GET, "/api/v1/user/held-jobs", headers: basic("alice", "guess"))
            #expect(wrong.status == 401 && wrong.reason == "invalid_credentials")
            let cancel = try await server.request(.POST, "/api/v1/user/held-jobs/p2/cancel", headers: basic("alice", "s3cret"))
            #expect(cancel.status == 404, "alice cannot touch bob's job")
            #expect(try await server.request(.POST, "/api/v1/user/held-jobs/p1/cancel", headers: basic("alice", "s3cret")).status == 200)
            let audit = try await server.admin(.GET, "/api/v1/admin/audit").text
            #expect(audit.contains("alice (directory)@127.0.0.1"))
        }
    }

    @Test("the long-poll answers as soon as a release is committed, and 503 + Retry-After past its bound")
    func longPoll() async throws {
        try await withTestServer(configure: { $0.maxLongPolls = 1 }) { server in
            let agent = try await server.enrolledAgent()
            _ = try await Self.makePrinter(server, name: "Annex", protocol: "raw", port: 9109)
            _ = try await server.registerHeld(agent.deviceCredential, [Self.held("w1")])
            let released = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let poll = try await server.request(.GET, "/api/v1/agent/releases?wait=20", bearer: agent.deviceCredential)
                    let answered = ContinuousClock.now
                    #expect(poll.status == 200)
                    #expect(try poll.decode(PendingReleases.self).releases.map(\.job.jobID) == ["w1"])
                    // The bell rings at commit, before the release's own response is written, so
                    // measure from that response: a fully loaded CI can take seconds to serve the
                    // POST itself, and that is not the long-poll's latency. The poll waits up to
                    // 20 s, so an answer within a few seconds proves the bell rang; the latency
                    // itself is the simulator's `release` figure (p50 ~20 ms on loopback).
                    let deadline = ContinuousClock.now + .seconds(20)
                    while released.withLockedValue({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                    let at = try #require(released.withLockedValue { $0 })
                    #expect(answered - at < .seconds(5), "answered \(answered - at) after the release was acknowledged")
                }
                // Wait until the poll is held, then: a second poll is over the bound.
                let deadline = ContinuousClock.now + .seconds(20)
                while server.server.hub.waiting == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                let busy = try await server.request(.GET, "/api/v1/agent/releases?wait=5", bearer: agent.deviceCredential)
                #expect(busy.status == 503 && busy.reason == "long_polls_busy")
                #expect(busy.headers.first(name: "Retry-After").flatMap(Int.init) != nil)
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/w1/release", json: ["printer": "Annex"]).status == 200)
                released.withLockedValue { $0 = ContinuousClock.now }
                try await group.waitForAll()
            }
            #expect(server.server.hub.waiting == 0, "the place was given back")
            let metrics = try await server.request(.GET, "/metrics").text
            #expect(metrics.contains("printplane_release_long_polls_refused_total 1"))
        }
    }

    @Test("graceful shutdown answers a waiting long-poll at once instead of waiting it out")
    func shutdownDuringLongPoll() async throws {
        var configuration = ServerConfiguration(dataDirectory: temporaryDirectory())
        configuration.port = 0
        let logger = Logger(label: "printplane.server.test")
        let server = try PrintplaneServer.build(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: server.supportingServices + [server], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await server.waitUntilListening()
            let client = try makeClient(caPEM: try String(contentsOfFile: server.identity.caCertificatePath, encoding: .utf8))
            let adminKey = try String(contentsOfFile: server.identity.adminKeyPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let test = TestServer(server: server, port: port, client: client, plainClient: client, dataDirectory: configuration.dataDirectory, adminKey: adminKey, caPEM: "")
            let agent = try await test.enrolledAgent()
            tasks.addTask {
                let poll = try await test.request(.GET, "/api/v1/agent/releases?wait=30", bearer: agent.deviceCredential)
                #expect(poll.status == 204)
            }
            let deadline = ContinuousClock.now + .seconds(20)
            while server.hub.waiting == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let started = ContinuousClock.now
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            #expect(ContinuousClock.now - started < .seconds(10), "shutdown took \(ContinuousClock.now - started)")
            try await client.shutdown()
        }
    }

    @Test("the expiry sweep marks overdue jobs expired; an expired job cannot be released")
    func expiry() async throws {
        let clock = ManualClock(Self.now)
        try await withTestServer(configure: {
            $0.clock = { clock.now }
            $0.heldJobSweepInterval = .milliseconds(50)
        }) { server in
            let agent = try await server.enrolledAgent()
            _ = try await Self.makePrinter(server, name: "Annex", protocol: "raw", port: 9109)
            _ = try await server.registerHeld(agent.deviceCredential, [Self.held("x1", hours: 1), Self.held("x2", hours: 1)])
            clock.advance(3600)
            // Before the sweep has run: refused all the same.
            let early = try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/x1/release", json: ["printer": "Annex"])
            #expect(early.status == 409 && early.reason == "held_job_expired", "\(early.text)")
            let deadline = ContinuousClock.now + .seconds(20)
            var states = [HeldJobState]()
            while ContinuousClock.now < deadline {
                states = try await server.asUser("alice", .GET, "/api/v1/user/held-jobs").decode(UserAPI.HeldJobList.self).items.map(\.state)
                if states == [.expired, .expired] { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(states == [.expired, .expired])
            let late = try await server.asUser("alice", .POST, "/api/v1/user/held-jobs/x2/release", json: ["printer": "Annex"])
            #expect(late.status == 409 && late.reason == "held_job_expired")
            #expect(try await server.admin(.GET, "/api/v1/admin/reports/held").decode(HeldJobTotals.self) == HeldJobTotals(expired: 2))
        }
    }
}
