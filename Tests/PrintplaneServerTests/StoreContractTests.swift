import Foundation
import PrintplaneCore
import Testing

@testable import PrintplaneServer

/// What every ``Store`` promises, as checks that run on any implementation: SQLite in memory
/// here, PostgreSQL in `PostgresStoreTests`. A new store passes these or is not a store.
enum StoreContract {
    static let audit = AuditEntry(at: Date(timeIntervalSince1970: 1_800_000_000), actor: "test", action: "test.action", target: "t")
    static let request = EnrollRequest(token: "unused", hostname: "ws-1", machineID: "m-1", os: "linux", agentVersion: "1")
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static let checks: [(name: String, run: @Sendable (any Store) async throws -> Void)] = [
        ("token rules", tokenRules),
        ("one max-uses-1 token, many concurrent enrollments", concurrentEnrollment),
        ("re-enrollment and revocation", reEnrollment),
        ("generation and audit", generationAndAudit),
        ("configuration round trip", configurationRoundTrip),
        ("idempotent jobs", idempotentJobs),
        ("concurrent duplicate batches", concurrentIngest),
        ("reports", reports),
        ("audit paging", auditPaging),
        ("console sessions", consoleSessions),
        ("directory settings", directorySettings),
        ("held jobs: registration, listing, release, settlement", heldJobLifecycle),
        ("held jobs: two releases at once, exactly one wins", concurrentRelease),
        ("held jobs: expiry, cancellation, and records that come first", heldJobEndings),
        ("driver caches", driverCaches),
    ]

    /// A token is judged revoked before expired before exhausted, and each use is counted in
    /// the enrollment transaction.
    static func tokenRules(_ store: any Store) async throws {
        let token = EnrollmentTokenRecord(id: "t1", tokenHash: "h1", label: "site A", createdAt: now, expiresAt: now.addingTimeInterval(60), maxUses: 1)
        try await store.createEnrollmentToken(token, audit: audit)
        #expect(try await store.enrollmentTokens() == [token])
        #expect(try await store.enroll(tokenHash: "nope", request: request, credentialHash: "c0", at: now) == .failure(.tokenUnknown))
        guard case .success(let agent) = try await store.enroll(tokenHash: "h1", request: request, credentialHash: "c1", at: now) else {
            Issue.record("first use refused")
            return
        }
        #expect(try await store.enroll(tokenHash: "h1", request: request, credentialHash: "c2", at: now) == .failure(.tokenExhausted))
        #expect(try await store.enroll(tokenHash: "h1", request: request, credentialHash: "c2", at: now.addingTimeInterval(60)) == .failure(.tokenExpired))
        #expect(try await store.revokeEnrollmentToken(id: "t1", at: now, audit: audit))
        #expect(try await store.enroll(tokenHash: "h1", request: request, credentialHash: "c2", at: now.addingTimeInterval(60)) == .failure(.tokenRevoked))
        #expect(try await store.enrollmentTokens().first?.uses == 1)
        #expect(try await store.enrollmentTokens().first?.revokedAt == now)
        #expect(try await store.authenticateAgent(credentialHash: "c1")?.agentID == agent.id)
        #expect(try await store.authenticateAgent(credentialHash: "c2") == nil)
        #expect(try await !store.revokeEnrollmentToken(id: "missing", at: now, audit: audit))
    }

    /// Expects `body` to fail with a ``ServerError`` of `reason` (not just any error: a 503
    /// where a 409 belongs would tell the admin to retry what can never succeed).
    static func expectRefusal(_ reason: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
        let error = await #expect(throws: ServerError.self, sourceLocation: sourceLocation) { try await body() }
        #expect(error?.reason == reason, "\(String(describing: error))", sourceLocation: sourceLocation)
    }

    /// Exactly one of many concurrent enrollments with a max-uses-1 token wins.
    static func concurrentEnrollment(_ store: any Store) async throws {
        try await store.createEnrollmentToken(EnrollmentTokenRecord(id: "once", tokenHash: "h-once", label: nil, createdAt: now, expiresAt: nil, maxUses: 1), audit: audit)
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<20 {
                group.addTask {
                    let request = EnrollRequest(token: "unused", hostname: "ws-\(index)", machineID: "m-\(index)", os: "linux", agentVersion: "1")
                    if case .success = try await store.enroll(tokenHash: "h-once", request: request, credentialHash: "c-\(index)", at: now) { return true }
                    return false
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try await store.enrollmentTokens().first { $0.id == "once" }?.uses == 1)
        #expect(try await store.agents().count == 1)
    }

    /// The same machine ID keeps its agent ID and gets a new credential; the old one and a
    /// revoked agent's are refused.
    static func reEnrollment(_ store: any Store) async throws {
        try await store.createEnrollmentToken(EnrollmentTokenRecord(id: "t", tokenHash: "h", label: nil, createdAt: now, expiresAt: nil, maxUses: nil), audit: audit)
        guard case .success(let first) = try await store.enroll(tokenHash: "h", request: request, credentialHash: "old", at: now),
              case .success(let second) = try await store.enroll(
                  tokenHash: "h", request: EnrollRequest(token: "", hostname: "ws-1-renamed", machineID: "m-1", os: "linux", agentVersion: "2"),
                  credentialHash: "new", at: now.addingTimeInterval(5))
        else {
            Issue.record("enrollment refused")
            return
        }
        #expect(first.id == second.id)
        #expect(try await store.authenticateAgent(credentialHash: "old")?.credentialRevoked == true)
        let current = try await store.authenticateAgent(credentialHash: "new")
        #expect(current?.credentialRevoked == false)
        #expect(current?.hostname == "ws-1-renamed")
        #expect(try await store.agents().map(\.agentVersion) == ["2"])
        #expect(try await store.revokeAgent(id: first.id, at: now.addingTimeInterval(10), audit: audit))
        #expect(try await store.authenticateAgent(credentialHash: "new")?.credentialRevoked == true)
        #expect(try await store.agents().first?.revokedAt == now.addingTimeInterval(10))
        #expect(try await !store.revokeAgent(id: "missing", at: now, audit: audit))
    }

    /// Configuration changes bump the generation and are audited in the same transaction;
    /// failed ones leave no trace.
    static func generationAndAudit(_ store: any Store) async throws {
        let before = try await store.planningSnapshot().generation
        let printer = PrinterRecord(id: "p1", name: "hq-1", address: "10.0.0.1", protocol: .raw, port: 9100, queue: nil, location: nil, site: nil, driverID: nil)
        try await store.createPrinter(printer, audit: audit)
        #expect(try await store.planningSnapshot().generation == before + 1)
        await expectRefusal("conflict") { try await store.createPrinter(printer, audit: audit) }
        let bad = Assignment(id: "a1", printerID: "missing", profileID: nil, target: .everyone)
        await expectRefusal("invalid_field") { try await store.createAssignment(bad, audit: audit) }
        let badDriver = PrinterRecord(id: "p2", name: "hq-2", address: "10.0.0.2", protocol: .raw, port: 9100, queue: nil, location: nil, site: nil, driverID: "missing")
        await expectRefusal("invalid_field") { try await store.createPrinter(badDriver, audit: audit) }
        #expect(try await store.planningSnapshot().generation == before + 1)
        #expect(try await store.auditEntries(limit: 10, offset: 0).count == 1)

        try await store.createProfile(ProfileRecord(id: "pr1", name: "duplex", profile: .init(duplex: .longEdge)), audit: audit)
        try await store.createAssignment(Assignment(id: "a2", printerID: "p1", profileID: "pr1", target: .user("alice")), audit: audit)
        await expectRefusal("conflict") { _ = try await store.deleteProfile(id: "pr1", audit: audit) }
        #expect(try await store.deletePrinter(id: "p1", audit: audit))
        #expect(try await store.assignments().isEmpty, "assignments go with their printer")
        #expect(try await store.deleteProfile(id: "pr1", audit: audit))
        #expect(try await !store.deletePrinter(id: "p1", audit: audit))
        #expect(try await !store.deleteProfile(id: "pr1", audit: audit))
        #expect(try await !store.deleteAssignment(id: "a2", audit: audit))
    }

    /// Every field of every configuration record comes back as it was stored.
    static func configurationRoundTrip(_ store: any Store) async throws {
        let manifest = DriverManifest(name: "Laser 9", version: "1.2", os: "windows-x64", sha256: String(repeating: "ab", count: 32), size: 123_456_789)
        let driver = DriverRecord(id: "d1", manifest: SignedDriverManifest(manifest: manifest, signature: "c2lnbmF0dXJl"), createdAt: now)
        try await store.createDriver(driver, audit: audit)
        let printer = PrinterRecord(id: "p1", name: "Floor 2", address: "printer.corp.example.com", protocol: .lpr, port: 515, queue: "lp", location: "2nd floor", site: "HQ", driverID: "d1")
        let bare = PrinterRecord(id: "p2", name: "Annex", address: "10.0.0.2", protocol: .raw, port: 9100, queue: nil, location: nil, site: nil, driverID: nil)
        try await store.createPrinter(printer, audit: audit)
        try await store.createPrinter(bare, audit: audit)
        let profile = ProfileRecord(id: "pr1", name: "colour duplex", profile: PrintProfile(duplex: .shortEdge, color: true, paper: "Letter", tray: "2", copies: 3))
        try await store.createProfile(profile, audit: audit)
        let assignments = [
            Assignment(id: "a1", printerID: "p1", profileID: "pr1", target: .ipRange(IPRange("10.1.0.0/16")!)),
            Assignment(id: "a2", printerID: "p2", profileID: nil, target: .computer("WS-7")),
            Assignment(id: "a3", printerID: "p2", profileID: nil, target: .everyone),
        ]
        for assignment in assignments { try await store.createAssignment(assignment, audit: audit) }

        #expect(try await store.drivers() == [driver])
        #expect(try await store.driver(sha256: manifest.sha256) == driver)
        #expect(try await store.driver(sha256: String(repeating: "0", count: 64)) == nil)
        #expect(try await store.printers() == [bare, printer], "ordered by name")
        #expect(try await store.profiles() == [profile])
        #expect(try await store.assignments() == assignments)
        let snapshot = try await store.planningSnapshot()
        #expect(snapshot.printers == ["p1": printer, "p2": bare])
        #expect(snapshot.profiles == ["pr1": profile])
        #expect(snapshot.drivers == ["d1": driver])
        #expect(Set(snapshot.assignments.map(\.id)) == ["a1", "a2", "a3"])

        #expect(try await store.setPrinterDriver(id: "p2", driverID: "d1", audit: audit))
        #expect(try await store.printers().first { $0.id == "p2" }?.driverID == "d1")
        #expect(try await store.setPrinterDriver(id: "p2", driverID: nil, audit: audit))
        #expect(try await store.printers().first { $0.id == "p2" }?.driverID == nil)
        #expect(try await !store.setPrinterDriver(id: "missing", driverID: nil, audit: audit))
        await expectRefusal("invalid_field") { _ = try await store.setPrinterDriver(id: "p2", driverID: "missing", audit: audit) }
        #expect(try await store.isReady())
    }

    /// Recording jobs is idempotent by job ID, also within one batch.
    static func idempotentJobs(_ store: any Store) async throws {
        let jobs = (0..<10).map { makeJob("j\($0)") }
        let first = try await store.recordJobs(jobs, agentID: "a", receivedAt: now)
        let second = try await store.recordJobs(jobs + [makeJob("j10")], agentID: "a", receivedAt: now)
        #expect(first.accepted.count == 10 && first.duplicates.isEmpty)
        #expect(second.accepted == ["j10"] && second.duplicates.count == 10)
        let twice = try await store.recordJobs([makeJob("j11"), makeJob("j11")], agentID: "a", receivedAt: now)
        #expect(twice.accepted == ["j11"] && twice.duplicates == ["j11"])
        let stored = try await store.jobs(matching: JobFilter(), limit: 100, offset: 0)
        #expect(stored.map(\.jobID) == (0...11).map { JobID("j\($0)") }.sorted())
        #expect(stored.first == makeJob("j0"), "every field round-trips")
    }

    /// The same batch sent by several uploads at once is stored once.
    static func concurrentIngest(_ store: any Store) async throws {
        let jobs = (0..<200).map { makeJob("c\($0)") }
        let results = try await withThrowingTaskGroup(of: JobIngestResult.self) { group in
            for _ in 0..<4 { group.addTask { try await store.recordJobs(jobs, agentID: "a", receivedAt: now) } }
            return try await group.reduce(into: [JobIngestResult]()) { $0.append($1) }
        }
        #expect(results.reduce(0) { $0 + $1.accepted.count } == 200)
        #expect(results.reduce(0) { $0 + $1.duplicates.count } == 600)
        #expect(try await store.jobTotals(matching: JobFilter()).jobs == 200)
    }

    /// Filters, paging and totals.
    static func reports(_ store: any Store) async throws {
        let day = 86_400.0
        var jobs = [JobRecord]()
        for index in 0..<30 {
            var job = makeJob(
                String(format: "r%02d", index), user: index % 2 == 0 ? "alice" : "bob", printer: index % 3 == 0 ? "hq-1" : "hq-2",
                computer: "ws-\(index % 5)", pages: 2, copies: index % 4 == 0 ? 2 : 1, color: index % 5 == 0,
                at: now.addingTimeInterval(Double(index) * day))
            if index == 29 { job.outcome = .failed }
            jobs.append(job)
        }
        _ = try await store.recordJobs(jobs, agentID: "a", receivedAt: now)
        let alice = try await store.jobs(matching: JobFilter(user: "alice"), limit: 100, offset: 0)
        #expect(alice.map(\.jobID) == jobs.filter { $0.user == "alice" }.map(\.jobID))
        let window = JobFilter(from: now.addingTimeInterval(10 * day), to: now.addingTimeInterval(20 * day))
        #expect(try await store.jobs(matching: window, limit: 100, offset: 0).count == 10)
        let page = try await store.jobs(matching: JobFilter(printer: "hq-2"), limit: 5, offset: 5)
        #expect(page.map(\.jobID) == Array(jobs.filter { $0.printer == "hq-2" }.map(\.jobID)[5..<10]))
        #expect(try await store.jobs(matching: JobFilter(user: "bob", computer: "ws-3"), limit: 100, offset: 0).allSatisfy { $0.computer == "ws-3" && $0.user == "bob" })
        let totals = try await store.jobTotals(matching: JobFilter())
        let printed = jobs.filter { $0.outcome == .printed }
        let pages = printed.reduce(0) { $0 + $1.pages * $1.copies }
        let colour = printed.filter(\.color).reduce(0) { $0 + $1.pages * $1.copies }
        #expect(totals == JobTotals(jobs: 30, pages: pages, colorPages: colour, colorShare: Double(colour) / Double(pages)))
        #expect(try await store.jobTotals(matching: JobFilter(user: "nobody")) == JobTotals(jobs: 0, pages: 0, colorPages: 0, colorShare: 0))
    }

    /// Sessions are found by their ID hash, touched, replaced at sign-in, swept when expired,
    /// and deleted at sign-out, each change audited where it says so.
    static func consoleSessions(_ store: any Store) async throws {
        let first = ConsoleSessionRecord(idHash: "s1", user: "admin-key", createdAt: now, lastSeenAt: now, expiresAt: now.addingTimeInterval(3600), idleTimeout: 600)
        try await store.createConsoleSession(first, replacing: nil, audit: audit)
        #expect(try await store.consoleSession(idHash: "s1") == first)
        #expect(try await store.consoleSession(idHash: "s2") == nil)
        try await store.touchConsoleSession(idHash: "s1", at: now.addingTimeInterval(300))
        try await store.touchConsoleSession(idHash: "s1", at: now.addingTimeInterval(100))
        #expect(try await store.consoleSession(idHash: "s1")?.lastSeenAt == now.addingTimeInterval(300), "the idle clock never moves back")

        // A sign-in that presented s1 replaces it; a session idle past its timeout is swept.
        let stale = ConsoleSessionRecord(idHash: "stale", user: "u", createdAt: now, lastSeenAt: now, expiresAt: now.addingTimeInterval(86_400), idleTimeout: 60)
        try await store.createConsoleSession(stale, replacing: nil, audit: audit)
        let later = now.addingTimeInterval(1000)
        let second = ConsoleSessionRecord(idHash: "s2", user: "alice", createdAt: later, lastSeenAt: later, expiresAt: later.addingTimeInterval(3600), idleTimeout: 600)
        try await store.createConsoleSession(second, replacing: "s1", audit: audit)
        #expect(try await store.consoleSession(idHash: "s1") == nil)
        #expect(try await store.consoleSession(idHash: "stale") == nil)
        #expect(try await store.consoleSession(idHash: "s2")?.user == "alice")

        let audited = try await store.auditEntries(limit: 100, offset: 0).count
        #expect(try await store.deleteConsoleSession(idHash: "s2", audit: audit))
        #expect(try await !store.deleteConsoleSession(idHash: "s2", audit: audit))
        #expect(try await store.auditEntries(limit: 100, offset: 0).count == audited + 1)
        try await store.appendAudit(AuditEntry(at: later, actor: "203.0.113.9", action: "console.signin.refused", target: "-"))
        #expect(try await store.auditEntries(limit: 1, offset: 0).first?.action == "console.signin.refused")
    }

    /// One row of directory settings, its sealed password kept byte for byte; each change bumps
    /// the generation (so every instance re-plans) and is in the planning snapshot.
    static func directorySettings(_ store: any Store) async throws {
        #expect(try await store.directorySettings().settings == nil)
        #expect(try await store.deleteDirectorySettings(audit: audit) == nil)
        let before = try await store.directorySettings().generation
        let settings = StoredDirectorySettings(
            url: "ldaps://dc01.corp.example.com:636", startTLS: false, caPEM: "-----BEGIN CERTIFICATE-----\n…", baseDN: "DC=corp,DC=example,DC=com",
            bindDN: "CORP\\svc-printplane", sealedBindPassword: [0, 1, 2, 254, 255], keyID: "0011223344556677", flavour: "auto",
            cacheTTLSeconds: 600, adminGroupDN: nil, updatedAt: now)
        let saved = try await store.saveDirectorySettings(settings, audit: audit)
        #expect(saved.revision == before + 1)
        let read = try await store.directorySettings()
        #expect(read.settings == saved)
        #expect(read.generation == before + 1)
        #expect(try await store.planningSnapshot().directory == saved)
        var changed = saved
        changed.startTLS = true
        changed.url = "ldap://dc02.corp.example.com"
        changed.adminGroupDN = "CN=Print Admins,OU=Groups,DC=corp,DC=example,DC=com"
        let resaved = try await store.saveDirectorySettings(changed, audit: audit)
        #expect(resaved.revision == before + 2)
        #expect(try await store.directorySettings().settings == resaved)
        #expect(try await store.deleteDirectorySettings(audit: audit) == before + 3)
        #expect(try await store.planningSnapshot().directory == nil)
    }

    /// A cache is bound to one enrolled agent; every registration change bumps the generation
    /// and is audited; the planning snapshot holds only caches whose agent is not revoked, and
    /// revoking (or re-enrolling) that agent bumps the generation so plans follow; a signed
    /// certificate is noted without a bump.
    static func driverCaches(_ store: any Store) async throws {
        try await store.createEnrollmentToken(EnrollmentTokenRecord(id: "t", tokenHash: "h", label: nil, createdAt: now, expiresAt: nil, maxUses: nil), audit: audit)
        let cacheMachine = EnrollRequest(token: "", hostname: "cache-hq", machineID: "printplane-cache:m-9", os: "linux", agentVersion: "printplane-cache 0.1")
        guard case .success(let device) = try await store.enroll(tokenHash: "h", request: cacheMachine, credentialHash: "c-cache", at: now),
              case .success(let other) = try await store.enroll(tokenHash: "h", request: request, credentialHash: "c-other", at: now)
        else {
            Issue.record("enrollment refused")
            return
        }
        let auditBefore = try await store.auditEntries(limit: 100, offset: 0).count
        let start = try await store.planningSnapshot().generation
        let cache = DriverCacheRecord(
            id: "k1", name: "hq", url: "https://cache-hq.corp.example.com:8444", agentID: device.id,
            ranges: [IPRange("10.1.0.0/16")!, IPRange("2001:db8::/32")!], sites: ["HQ", "Annex"], createdAt: now, updatedAt: now)
        try await store.createDriverCache(cache, audit: audit)
        #expect(try await store.planningSnapshot().generation == start + 1)
        #expect(try await store.driverCaches() == [cache])
        #expect(try await store.driverCache(agentID: device.id) == cache)
        #expect(try await store.driverCache(agentID: other.id) == nil)
        #expect(try await store.planningSnapshot().driverCaches == [cache.route])

        var sameName = cache
        sameName.id = "k2"
        sameName.agentID = other.id
        await expectRefusal("conflict") { try await store.createDriverCache(sameName, audit: audit) }
        var sameAgent = cache
        sameAgent.id = "k3"
        sameAgent.name = "annex"
        await expectRefusal("conflict") { try await store.createDriverCache(sameAgent, audit: audit) }
        var noAgent = cache
        noAgent.id = "k4"
        noAgent.name = "nowhere"
        noAgent.agentID = "missing"
        await expectRefusal("invalid_field") { try await store.createDriverCache(noAgent, audit: audit) }
        #expect(try await store.planningSnapshot().generation == start + 1, "refused changes leave no trace")
        #expect(try await store.auditEntries(limit: 100, offset: 0).count == auditBefore + 1)

        var changed = cache
        changed.url = "https://[2001:db8::5]:9444"
        changed.ranges = [IPRange("10.2.0.0/16")!]
        changed.sites = []
        changed.updatedAt = now.addingTimeInterval(60)
        #expect(try await store.updateDriverCache(changed, audit: audit))
        #expect(try await store.planningSnapshot().generation == start + 2)
        #expect(try await store.driverCaches() == [changed])
        var missing = changed
        missing.id = "missing"
        #expect(try await !store.updateDriverCache(missing, audit: audit))

        let notAfter = now.addingTimeInterval(30 * 86_400)
        #expect(try await store.recordDriverCacheCertificate(id: "k1", serial: "0a:1b", notAfter: notAfter, audit: audit))
        #expect(try await !store.recordDriverCacheCertificate(id: "missing", serial: "0a", notAfter: notAfter, audit: audit))
        #expect(try await store.planningSnapshot().generation == start + 2, "a certificate changes no plan")
        let certified = try await store.driverCaches().first
        #expect(certified?.certificateSerial == "0a:1b")
        #expect(certified?.certificateNotAfter == notAfter)

        #expect(try await store.revokeAgent(id: device.id, at: now.addingTimeInterval(120), audit: audit))
        #expect(try await store.planningSnapshot().generation == start + 3, "revoking a cache's agent changes plans")
        #expect(try await store.planningSnapshot().driverCaches.isEmpty)
        #expect(try await store.driverCaches().count == 1, "the registration stays for the admin to see")
        #expect(try await store.revokeAgent(id: other.id, at: now.addingTimeInterval(120), audit: audit))
        #expect(try await store.planningSnapshot().generation == start + 3, "revoking an ordinary agent changes no plan")
        guard case .success = try await store.enroll(tokenHash: "h", request: cacheMachine, credentialHash: "c-cache-2", at: now.addingTimeInterval(180)) else {
            Issue.record("re-enrollment refused")
            return
        }
        #expect(try await store.planningSnapshot().generation == start + 4)
        #expect(try await store.planningSnapshot().driverCaches.map(\.id) == ["k1"])

        #expect(try await store.deleteDriverCache(id: "k1", audit: audit))
        #expect(try await store.planningSnapshot().generation == start + 5)
        #expect(try await !store.deleteDriverCache(id: "k1", audit: audit))
        #expect(try await store.driverCaches().isEmpty)
        #expect(try await store.planningSnapshot().driverCaches.isEmpty)
        let actions = try await store.auditEntries(limit: 100, offset: 0).count
        #expect(actions == auditBefore + 6, "create, update, certificate, two revocations, delete (and the failed calls none)")
    }

    /// The newest entries first, with paging, each with who, what and when.
    static func auditPaging(_ store: any Store) async throws {
        for index in 0..<7 {
            let entry = AuditEntry(at: now.addingTimeInterval(Double(index)), actor: "admin-\(index)", action: "token.create", target: "t\(index)", detail: "d\(index)")
            try await store.createEnrollmentToken(EnrollmentTokenRecord(id: .init("t\(index)"), tokenHash: "h\(index)", label: nil, createdAt: now, expiresAt: nil, maxUses: nil), audit: entry)
        }
        let first = try await store.auditEntries(limit: 3, offset: 0)
        let second = try await store.auditEntries(limit: 3, offset: 3)
        #expect(first.map(\.target) == ["t6", "t5", "t4"])
        #expect(second.map(\.target) == ["t3", "t2", "t1"])
        #expect(first.first.map { ($0.actor, $0.action, $0.detail, $0.at) } ?? ("", "", "", now) == ("admin-6", "token.create", "d6", now.addingTimeInterval(6)))
    }
}

@Suite("Store contract: SQLite (in memory)")
struct SQLiteStoreContractTests {
    @Test(arguments: StoreContract.checks.map(\.name))
    func contract(_ name: String) async throws {
        let check = try #require(StoreContract.checks.first { $0.name == name })
        try await check.run(try SQLiteStore.inMemory())
    }
}

// MARK: Pull printing

extension StoreContract {
    static func held(_ id: String, user: String = "alice", computer: String = "ws-1", heldAt: Date = now, hours: Double = 24) -> HeldJobRegistration {
        HeldJobRegistration(
            jobID: JobID(id), user: user, computer: computer, printer: "hq-1", documentName: "doc-\(id).pdf", pages: 3, copies: 2,
            color: true, duplex: false, bytes: 4096, protocol: .raw, heldAt: heldAt, expiresAt: heldAt.addingTimeInterval(hours * 3600))
    }

    static let releasePrinter = PlannedPrinter(
        id: "p-lpr", name: "Floor 2", address: "127.0.0.9", protocol: .lpr, port: 5515, queue: "lp", location: nil, driver: nil,
        profile: PrintProfile(duplex: .longEdge, color: false, paper: "A4", tray: nil, copies: 1))

    static func userAudit(_ action: String, _ target: String) -> AuditEntry {
        AuditEntry(at: now, actor: "alice@127.0.0.1", action: action, target: target)
    }

    /// An agent with a credential (`c-<name>`), for the pending-releases flag.
    static func enrolledAgent(_ store: any Store, _ name: String) async throws -> AgentID {
        try await store.createEnrollmentToken(EnrollmentTokenRecord(id: .init("t-\(name)"), tokenHash: "h-\(name)", label: nil, createdAt: now, expiresAt: nil, maxUses: nil), audit: audit)
        let request = EnrollRequest(token: "", hostname: name, machineID: "m-\(name)", os: "linux", agentVersion: "1")
        guard case .success(let agent) = try await store.enroll(tokenHash: "h-\(name)", request: request, credentialHash: "c-\(name)", at: now) else {
            throw ServerError.internalError
        }
        return agent.id
    }

    /// Registration is idempotent with capped expiries; users see only their own jobs; a
    /// release is pending for its agent until the job's record arrives, which settles it.
    static func heldJobLifecycle(_ store: any Store) async throws {
        let agent = try await enrolledAgent(store, "ws-1")
        #expect(try await store.authenticateAgent(credentialHash: "c-ws-1")?.hasPendingReleases == false)
        let jobs = [held("h1"), held("h2", user: "Bob"), held("h3", hours: 100)]
        let first = try await store.registerHeldJobs(jobs, agentID: agent, receivedAt: now, maximumHold: 48 * 3600)
        #expect(first.accepted == ["h1", "h2", "h3"] && first.duplicates.isEmpty)
        #expect(first.expiresAt["h1"] == now.addingTimeInterval(24 * 3600))
        #expect(first.expiresAt["h3"] == now.addingTimeInterval(48 * 3600), "capped at the maximum hold")
        let again = try await store.registerHeldJobs([held("h1"), held("h4"), held("h4")], agentID: agent, receivedAt: now, maximumHold: 48 * 3600)
        #expect(again.accepted == ["h4"] && again.duplicates == ["h1", "h4"])
        #expect(again.expiresAt["h1"] == now.addingTimeInterval(24 * 3600), "a duplicate answers the expiry kept")

        // Listing: one's own, any case, newest first; filtered by state.
        let alices = try await store.heldJobs(user: "ALICE", states: nil, limit: 10)
        #expect(Set(alices.map(\.job.jobID)) == ["h1", "h3", "h4"])
        #expect(alices.allSatisfy { $0.state == .held && $0.releasedTo == nil })
        #expect(alices.first { $0.job.jobID == "h1" }?.job == held("h1"), "every field round-trips")
        #expect(try await store.heldJobs(user: "bob", states: [.held], limit: 10).map(\.job.jobID) == ["h2"])
        #expect(try await store.heldJobs(user: "bob", states: [.released], limit: 10).isEmpty)
        #expect(try await store.heldJob(id: "h2", user: "alice") == nil, "another user's job is not found")
        #expect(try await store.heldJob(id: "h1", user: "alice")?.agentID == agent)

        // Release: someone else cannot; the owner can, once; it is audited and pending.
        let auditsBefore = try await store.auditEntries(limit: 100, offset: 0).count
        #expect(try await store.releaseHeldJob(id: "h1", user: "bob", printer: releasePrinter, at: now, audit: userAudit("held_job.release", "h1")) == .notFound)
        #expect(try await store.releaseHeldJob(id: "nope", user: "alice", printer: releasePrinter, at: now, audit: userAudit("held_job.release", "nope")) == .notFound)
        guard case .changed(let released, let holder) = try await store.releaseHeldJob(
            id: "h1", user: "Alice", printer: releasePrinter, at: now.addingTimeInterval(60), audit: userAudit("held_job.release", "h1"))
        else {
            Issue.record("the release was refused")
            return
        }
        #expect(holder == agent)
        #expect(released.state == .released && released.releasedTo == "Floor 2" && released.releasedAt == now.addingTimeInterval(60))
        guard case .refused(let twice) = try await store.releaseHeldJob(id: "h1", user: "alice", printer: releasePrinter, at: now, audit: userAudit("held_job.release", "h1")) else {
            Issue.record("a second release was not refused")
            return
        }
        #expect(twice.state == .released)
        let audits = try await store.auditEntries(limit: 100, offset: 0)
        #expect(audits.count == auditsBefore + 1, "one audit entry per release that happened")
        #expect(audits.first?.action == "held_job.release" && audits.first?.target == "h1")

        #expect(try await store.authenticateAgent(credentialHash: "c-ws-1")?.hasPendingReleases == true)
        let pending = try await store.pendingReleases(agentID: agent)
        #expect(pending.cancelled.isEmpty)
        #expect(pending.releases == [HeldJobRelease(job: held("h1"), printer: releasePrinter, releasedAt: now.addingTimeInterval(60), releasedBy: "alice@127.0.0.1")])
        #expect(try await store.pendingReleases(agentID: "someone-else").isEmpty)

        // The agent's record settles it: printed, no longer pending; a repeat changes nothing.
        var record = held("h1").record(outcome: .printed, completedAt: now.addingTimeInterval(65))
        record.printer = "Floor 2"
        _ = try await store.recordJobs([record], agentID: agent, receivedAt: now)
        #expect(try await store.pendingReleases(agentID: agent).isEmpty)
        #expect(try await store.authenticateAgent(credentialHash: "c-ws-1")?.hasPendingReleases == false)
        var late = record
        late.outcome = .failed
        late.failure = "document_missing"
        _ = try await store.recordJobs([late], agentID: agent, receivedAt: now)
        let settled = try #require(try await store.heldJob(id: "h1", user: "alice")?.status)
        #expect(settled.state == .printed && settled.finishedAt == now.addingTimeInterval(65) && settled.failure == nil)

        // A release that failed keeps the reason.
        guard case .changed = try await store.releaseHeldJob(id: "h4", user: "alice", printer: releasePrinter, at: now, audit: userAudit("held_job.release", "h4")) else {
            Issue.record("h4 not released")
            return
        }
        _ = try await store.recordJobs([held("h4").record(outcome: .failed, completedAt: now.addingTimeInterval(5), failure: "printer: connection refused")], agentID: agent, receivedAt: now)
        let failed = try #require(try await store.heldJob(id: "h4", user: "alice")?.status)
        #expect(failed.state == .failed && failed.failure == "printer: connection refused")
        #expect(try await store.heldJobTotals(matching: JobFilter()) == HeldJobTotals(held: 2, printed: 1, failed: 1))
        #expect(try await store.heldJobTotals(matching: JobFilter(user: "BOB")) == HeldJobTotals(held: 1))
    }

    /// Of many releases of one job at once (to different printers), exactly one wins.
    static func concurrentRelease(_ store: any Store) async throws {
        let agent = try await enrolledAgent(store, "ws-race")
        _ = try await store.registerHeldJobs([held("race")], agentID: agent, receivedAt: now, maximumHold: 24 * 3600)
        let outcomes = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<20 {
                group.addTask {
                    var printer = releasePrinter
                    printer.name = "printer-\(index)"
                    if case .changed(let status, _) = try await store.releaseHeldJob(id: "race", user: "alice", printer: printer, at: now, audit: userAudit("held_job.release", "race")) {
                        return status.releasedTo
                    }
                    return nil
                }
            }
            return try await group.reduce(into: [String]()) { if let name = $1 { $0.append(name) } }
        }
        #expect(outcomes.count == 1, "\(outcomes)")
        let pending = try await store.pendingReleases(agentID: agent)
        #expect(pending.releases.map(\.printer.name) == outcomes, "the winner's printer is the one the agent is told")
        #expect(try await store.auditEntries(limit: 100, offset: 0).filter { $0.action == "held_job.release" }.count == 1)
    }

    /// Expiry (by the sweep, or already at registration), cancellation (pending for the
    /// agent until its record arrives), and a record that arrives before its registration.
    static func heldJobEndings(_ store: any Store) async throws {
        let agent = try await enrolledAgent(store, "ws-2")
        _ = try await store.registerHeldJobs([held("e1", hours: 1), held("e2", hours: 1), held("c1"), held("c2")], agentID: agent, receivedAt: now, maximumHold: 24 * 3600)

        // Past the expiry, before the sweep: not releasable; the sweep marks both expired once.
        let later = now.addingTimeInterval(3600)
        guard case .refused(let stale) = try await store.releaseHeldJob(id: "e1", user: "alice", printer: releasePrinter, at: later, audit: userAudit("held_job.release", "e1")) else {
            Issue.record("an expired job was released")
            return
        }
        #expect(stale.state == .held && stale.job.expiresAt <= later)
        #expect(try await store.expireHeldJobs(at: later.addingTimeInterval(-1)) == 0)
        #expect(try await store.expireHeldJobs(at: later) == 2)
        #expect(try await store.expireHeldJobs(at: later) == 0)
        let expired = try #require(try await store.heldJob(id: "e1", user: "alice")?.status)
        #expect(expired.state == .expired && expired.finishedAt == later)
        #expect(try await store.pendingReleases(agentID: agent).isEmpty, "expiry is the agent's own business")

        // Cancellation: of a held job and of a released one; each pending until the agent's record.
        guard case .changed(let cancelled, _) = try await store.cancelHeldJob(id: "c1", user: "ALICE", at: now, audit: userAudit("held_job.cancel", "c1")) else {
            Issue.record("cancel refused")
            return
        }
        #expect(cancelled.state == .cancelled)
        _ = try await store.releaseHeldJob(id: "c2", user: "alice", printer: releasePrinter, at: now, audit: userAudit("held_job.release", "c2"))
        guard case .changed = try await store.cancelHeldJob(id: "c2", user: "alice", at: now, audit: userAudit("held_job.cancel", "c2")) else {
            Issue.record("cancelling a released job was refused")
            return
        }
        #expect(try await store.cancelHeldJob(id: "c1", user: "alice", at: now, audit: userAudit("held_job.cancel", "c1")) == .refused(cancelled))
        #expect(try await store.cancelHeldJob(id: "e2", user: "alice", at: now, audit: userAudit("held_job.cancel", "e2")) != .notFound)
        #expect(try await store.cancelHeldJob(id: "c1", user: "mallory", at: now, audit: userAudit("held_job.cancel", "c1")) == .notFound)
        let pending = try await store.pendingReleases(agentID: agent)
        #expect(pending.releases.isEmpty && Set(pending.cancelled.map(\.jobID)) == ["c1", "c2"])
        _ = try await store.recordJobs([held("c1").record(outcome: .cancelled, completedAt: now), held("c2").record(outcome: .cancelled, completedAt: now)], agentID: agent, receivedAt: now)
        #expect(try await store.pendingReleases(agentID: agent).isEmpty)
        #expect(try await store.authenticateAgent(credentialHash: "c-ws-2")?.hasPendingReleases == false)

        // A record that overtook its registration, and a registration that arrives overdue.
        _ = try await store.recordJobs([held("r1").record(outcome: .printed, completedAt: now)], agentID: agent, receivedAt: now)
        _ = try await store.registerHeldJobs([held("r1"), held("late", heldAt: now.addingTimeInterval(-7200), hours: 1)], agentID: agent, receivedAt: now, maximumHold: 24 * 3600)
        #expect(try await store.heldJob(id: "r1", user: "alice")?.status.state == .printed)
        #expect(try await store.heldJob(id: "late", user: "alice")?.status.state == .expired)
        #expect(try await store.pendingReleases(agentID: agent).isEmpty)
        #expect(try await store.heldJobTotals(matching: JobFilter()) == HeldJobTotals(printed: 1, expired: 3, cancelled: 2))
        #expect(try await store.heldJobTotals(matching: JobFilter(from: now.addingTimeInterval(-60))) == HeldJobTotals(printed: 1, expired: 2, cancelled: 2))
    }
}
