import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PrintplaneCore
import ServiceLifecycle
import Testing

@testable import PrintplaneServer

/// The PostgreSQL store against a real PostgreSQL server (DESIGN.md §7), and several server
/// instances sharing it (DESIGN.md §1, "several stateless server instances behind a load
/// balancer, sharing PostgreSQL").
@Suite("PostgreSQL store (a real server)", .serialized)
struct PostgresStoreTests {
    @Test("every store contract holds on PostgreSQL")
    func contract() async throws {
        try await PostgresServer.with { server in
            for check in StoreContract.checks {
                do {
                    try await withPostgresStore(server) { store in try await check.run(store) }
                } catch {
                    Issue.record("\(check.name): \(error)")
                }
            }
        }
    }

    @Test("instances starting together on a new database apply each migration once")
    func concurrentMigrations() async throws {
        try await PostgresServer.with { server in
            let settings = try await server.createDatabase()
            let logger = {
                var logger = Logger(label: "printplane.test.postgres")
                logger.logLevel = .warning
                return logger
            }()
            let stores = try (0..<4).map { _ in try PostgresStore(settings: settings, logger: logger) }
            let group = ServiceGroup(configuration: .init(services: stores, logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                for store in stores { #expect(try await store.planningSnapshot().generation == 1) }
                let applied = try await stores[0].transaction { connection in
                    try await connection.query("SELECT name FROM printplane_migrations", logger: logger).collect().map { try $0.decode(String.self) }
                }
                #expect(applied == PostgresStore.migrations.map(\.name))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }

    @Test("a database that cannot be reached stops the server with the reason, in bounded time")
    func unreachableDatabase() async throws {
        let port = try ChildProcess.freePort()  // nobody listens there
        var configuration = ServerConfiguration(dataDirectory: temporaryDirectory())
        configuration.port = 0
        configuration.databaseURL = "postgres://printplane:x@127.0.0.1:\(port)/printplane?sslmode=disable"
        let logger = Logger(label: "printplane.test.postgres")
        let server = try PrintplaneServer.build(configuration: configuration, logger: logger)
        let store = try #require(server.store as? PostgresStore)
        // The same store with a short start-up timeout, so the test does not wait 30 s.
        let quick = try PostgresStore(settings: store.settings, logger: logger, startupTimeout: .seconds(3))
        let started = ContinuousClock.now
        let error = await #expect(throws: ServerError.self) { try await quick.run() }
        #expect("\(error.map { "\($0)" } ?? "")".contains("cannot use the database postgres://printplane@127.0.0.1:\(port)/printplane"), "\(String(describing: error))")
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(!"\(store.settings)".contains(":x@"), "the password is never printed")
    }

    @Test("two server instances share one database: tokens, enrollment, plans, driver downloads and jobs")
    func twoInstances() async throws {
        try await PostgresServer.with { database in
            let settings = try await database.createDatabase()
            let url = "postgres://\(PostgresServer.user):\(PostgresServer.password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)@127.0.0.1:\(database.port)/\(settings.database)?sslmode=disable"
            let first = temporaryDirectory()
            try await withTestServer(dataDirectory: first, configure: { $0.databaseURL = url }) { a in
                // The second instance gets the first one's keys, as the docs tell operators to do.
                let second = temporaryDirectory()
                for file in ["ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "driver-signing.key", "admin.key"] {
                    try FileManager.default.copyItem(atPath: first + "/" + file, toPath: second + "/" + file)
                }
                try await withTestServer(dataDirectory: second, configure: { $0.databaseURL = url }) { b in
                    try await self.exerciseTwoInstances(a, b)
                }
            }
        }
    }

    @Test("a release made through instance A reaches an agent's long-poll held by instance B within a second or two")
    func releaseAcrossInstances() async throws {
        try await PostgresServer.with { database in
            let settings = try await database.createDatabase()
            let url = "postgres://\(PostgresServer.user):\(PostgresServer.password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)@127.0.0.1:\(database.port)/\(settings.database)?sslmode=disable"
            let first = temporaryDirectory()
            try await withTestServer(dataDirectory: first, configure: { $0.databaseURL = url }) { a in
                let second = temporaryDirectory()
                for file in ["ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "driver-signing.key", "admin.key"] {
                    try FileManager.default.copyItem(atPath: first + "/" + file, toPath: second + "/" + file)
                }
                try await withTestServer(dataDirectory: second, configure: { $0.databaseURL = url }) { b in
                    let agent = try await b.enrolledAgent(hostname: "ws-b")
                    let printer = try await a.admin(.POST, "/api/v1/admin/printers", json: ["name": "Floor 2", "address": "127.0.0.9", "protocol": "lpr", "port": 5515])
                    #expect(printer.status == 201)
                    let now = Date()
                    let jobs = (1...3).map {
                        HeldJobRegistration(
                            jobID: JobID("x\($0)"), user: "alice", computer: "ws-b", printer: "hq-1", documentName: "d\($0).ps", pages: 1, copies: 1,
                            color: false, duplex: false, bytes: 100, protocol: .raw, heldAt: now, expiresAt: now.addingTimeInterval(3600))
                    }
                    #expect(try await b.registerHeld(agent.deviceCredential, jobs).status == 200)
                    for job in jobs {
                        let released = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                let poll = try await b.request(.GET, "/api/v1/agent/releases?wait=25", bearer: agent.deviceCredential)
                                let answered = ContinuousClock.now
                                #expect(poll.status == 200, "\(poll.text)")
                                let pending = try poll.decode(PendingReleases.self)
                                #expect(pending.releases.map(\.job.jobID) == [job.jobID])
                                #expect(pending.releases.first?.printer.address == "127.0.0.9")
                                // Timed from A's acknowledgement of the release: the notification is sent
                                // at commit, before it, and a fully loaded CI can take seconds to serve
                                // the POST itself.
                                let deadline = ContinuousClock.now + .seconds(30)
                                while released.withLockedValue({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                                let at = try #require(released.withLockedValue { $0 })
                                #expect(answered - at < .seconds(5), "B answered \(answered - at) after A acknowledged the release")
                            }
                            let deadline = ContinuousClock.now + .seconds(20)
                            while b.server.hub.waiting == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                            try await Task.sleep(for: .milliseconds(200))
                            let release = try await a.asUser("alice", .POST, "/api/v1/user/held-jobs/\(job.jobID)/release", json: ["printer": "Floor 2"])
                            released.withLockedValue { $0 = ContinuousClock.now }
                            #expect(release.status == 200, "\(release.text)")
                            try await group.waitForAll()
                        }
                        // The agent reports it printed (through A); B no longer announces it.
                        #expect(try await a.postJobs(agent.deviceCredential, [job.record(outcome: .printed, completedAt: Date())]).status == 200)
                    }
                    #expect(try await b.request(.GET, "/api/v1/agent/releases", bearer: agent.deviceCredential).status == 204)
                    #expect(try await a.admin(.GET, "/api/v1/admin/reports/held").decode(HeldJobTotals.self) == HeldJobTotals(printed: 3))
                }
            }
        }
    }

    private func exerciseTwoInstances(_ a: TestServer, _ b: TestServer) async throws {
        // A max-uses-1 token made on A: ten enrollments at once, half through each instance.
        let (once, _) = try await a.createToken(maxUses: 1)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<10 {
                let instance = index % 2 == 0 ? a : b
                group.addTask { try await instance.enroll(token: once, machineID: "race-\(index)").status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 201 }.count == 1, "\(statuses)")
        #expect(statuses.filter { $0 == 401 }.count == 9, "\(statuses)")

        // A driver uploaded to A, a printer and an assignment made on A.
        var package = [UInt8](repeating: 0, count: 3 * 1024 * 1024 + 17)
        for index in package.indices { package[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 7) }
        let upload = try await a.request(.POST, "/api/v1/admin/drivers?name=Laser&version=2.0&os=linux", body: Data(package), contentType: "application/octet-stream", bearer: a.adminKey)
        #expect(upload.status == 201, "\(upload.text)")
        let driver = try upload.decode(DriverRecord.self)
        let sha256 = driver.manifest.manifest.sha256
        #expect(sha256 == SHA256.hash(data: package).map { String(format: "%02x", $0) }.joined())
        let printer = try await a.admin(.POST, "/api/v1/admin/printers", json: ["name": "Floor 2", "address": "10.0.0.9", "protocol": "raw", "driver_id": driver.id.rawValue])
        #expect(printer.status == 201, "\(printer.text)")
        let printerID = try printer.decode(PrinterRecord.self).id
        let assignment = try await a.admin(.POST, "/api/v1/admin/assignments", json: ["printer_id": printerID.rawValue, "target": ["kind": "everyone"]])
        #expect(assignment.status == 201, "\(assignment.text)")

        // An agent enrolled through B gets A's configuration and A's driver from B.
        let agent = try await b.enrolledAgent(hostname: "ws-b")
        let checkIn = try await b.checkIn(agent.deviceCredential)
        #expect(checkIn.status == 200, "\(checkIn.text)")
        #expect(checkIn.text.contains(sha256), "the plan names the driver uploaded on the other instance")
        #expect(!FileManager.default.fileExists(atPath: b.dataDirectory + "/drivers/" + sha256), "B has not seen the package yet")
        async let firstDownload = b.request(.GET, "/api/v1/drivers/\(sha256)", bearer: agent.deviceCredential)
        async let secondDownload = b.request(.GET, "/api/v1/drivers/\(sha256)", bearer: agent.deviceCredential)
        let (one, two) = try await (firstDownload, secondDownload)
        #expect(one.status == 200 && two.status == 200)
        #expect(one.body == Data(package) && two.body == Data(package), "B fetched the package from the database, whole and unchanged")
        let ranged = try await b.request(.GET, "/api/v1/drivers/\(sha256)", headers: [("Range", "bytes=1000-1999")], bearer: agent.deviceCredential)
        #expect(ranged.status == 206)
        #expect(ranged.body == Data(package[1000...1999]))

        // The same job batch posted through both instances at once is stored once.
        let jobs = (0..<300).map { makeJob("two-\($0)", computer: "ws-b") }
        async let throughA = a.postJobs(agent.deviceCredential, jobs)
        async let throughB = b.postJobs(agent.deviceCredential, jobs)
        let (left, right) = try await (throughA, throughB)
        #expect(left.status == 200 && right.status == 200, "\(left.text) \(right.text)")
        let totals = try await b.admin(.GET, "/api/v1/admin/reports/totals?computer=ws-b")
        #expect(try totals.decode(JobTotals.self).jobs == 300)

        // A change on B reaches a check-in on A: the generation lives in the shared database.
        let etag = try JSONSerialization.jsonObject(with: checkIn.body) as? [String: Any]
        let assignmentID = try assignment.decode(Assignment.self).id
        #expect(try await b.admin(.DELETE, "/api/v1/admin/assignments/\(assignmentID)").status == 204)
        let afterChange = try await a.checkIn(agent.deviceCredential, etag: etag?["etag"] as? String)
        #expect(afterChange.status == 200)
        #expect(!afterChange.text.contains("\"status\":\"unchanged\""), "\(afterChange.text)")
        #expect(!afterChange.text.contains(sha256), "the printer is no longer assigned")
    }

    @Test("while the database is down agents get 503 with Retry-After; afterwards nothing is lost")
    func outage() async throws {
        try await PostgresServer.with { database in
            let settings = try await database.createDatabase()
            let url = "postgres://\(PostgresServer.user):\(PostgresServer.password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)@127.0.0.1:\(database.port)/\(settings.database)?sslmode=disable"
            try await withTestServer(configure: {
                $0.databaseURL = url
                $0.databaseTimeout = .seconds(2)
            }) { server in
                let agent = try await server.enrolledAgent()
                #expect(try await server.checkIn(agent.deviceCredential).status == 200)
                let before = (0..<50).map { makeJob("before-\($0)") }
                #expect(try await server.postJobs(agent.deviceCredential, before).status == 200)

                await database.halt()
                let checkIn = try await server.checkIn(agent.deviceCredential)
                #expect(checkIn.status == 503, "\(checkIn.text)")
                #expect(checkIn.reason == "overloaded")
                #expect(checkIn.headers.first(name: "Retry-After").flatMap(Int.init) != nil)
                let during = (0..<50).map { makeJob("during-\($0)") }
                #expect(try await server.postJobs(agent.deviceCredential, during).status == 503, "the agent keeps these in its outbox")
                #expect(try await server.request(.GET, "/readyz").status == 503)

                try await database.resume()
                // The pool reconnects by itself; the agent's retry then goes through.
                let deadline = ContinuousClock.now + .seconds(60)
                var retried = try await server.postJobs(agent.deviceCredential, during)
                while retried.status != 200, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                    retried = try await server.postJobs(agent.deviceCredential, during)
                }
                #expect(retried.status == 200, "\(retried.text)")
                #expect(try await server.postJobs(agent.deviceCredential, before).status == 200, "a repeat is acknowledged")
                let totals = try await server.admin(.GET, "/api/v1/admin/reports/totals")
                #expect(try totals.decode(JobTotals.self).jobs == 100, "every record once: none lost, none doubled")
                #expect(try await server.request(.GET, "/readyz").status == 200)
            }
        }
    }
}
