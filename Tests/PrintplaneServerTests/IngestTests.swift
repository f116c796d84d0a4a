import Foundation
import NIOConcurrencyHelpers
import PrintplaneCore
import ServiceLifecycle
import Testing

@testable import PrintplaneServer

/// A store that commits a batch and then "crashes" before the server can acknowledge it.
struct CrashAfterCommitStore: Store {
    let inner: SQLiteStore
    let crashes = NIOLockedValueBox(true)
    struct Crash: Error {}

    func recordJobs(_ jobs: [JobRecord], agentID: AgentID, receivedAt: Date) async throws -> JobIngestResult {
        let result = try await inner.recordJobs(jobs, agentID: agentID, receivedAt: receivedAt)
        if self.crashes.withLockedValue({ $0 }) { throw Crash() }
        return result
    }

    func createEnrollmentToken(_ token: EnrollmentTokenRecord, audit: AuditEntry) async throws { try await inner.createEnrollmentToken(token, audit: audit) }
    func enrollmentTokens() async throws -> [EnrollmentTokenRecord] { try await inner.enrollmentTokens() }
    func revokeEnrollmentToken(id: EnrollmentTokenID, at: Date, audit: AuditEntry) async throws -> Bool { try await inner.revokeEnrollmentToken(id: id, at: at, audit: audit) }
    func enroll(tokenHash: String, request: EnrollRequest, credentialHash: String, at: Date) async throws -> Result<AgentRecord, TokenRefusal> {
        try await inner.enroll(tokenHash: tokenHash, request: request, credentialHash: credentialHash, at: at)
    }
    func authenticateAgent(credentialHash: String) async throws -> AgentAuthentication? { try await inner.authenticateAgent(credentialHash: credentialHash) }
    func agents() async throws -> [AgentRecord] { try await inner.agents() }
    func revokeAgent(id: AgentID, at: Date, audit: AuditEntry) async throws -> Bool { try await inner.revokeAgent(id: id, at: at, audit: audit) }
    func createPrinter(_ printer: PrinterRecord, audit: AuditEntry) async throws { try await inner.createPrinter(printer, audit: audit) }
    func printers() async throws -> [PrinterRecord] { try await inner.printers() }
    func deletePrinter(id: PrinterID, audit: AuditEntry) async throws -> Bool { try await inner.deletePrinter(id: id, audit: audit) }
    func setPrinterDriver(id: PrinterID, driverID: DriverID?, audit: AuditEntry) async throws -> Bool { try await inner.setPrinterDriver(id: id, driverID: driverID, audit: audit) }
    func createProfile(_ profile: ProfileRecord, audit: AuditEntry) async throws { try await inner.createProfile(profile, audit: audit) }
    func profiles() async throws -> [ProfileRecord] { try await inner.profiles() }
    func deleteProfile(id: ProfileID, audit: AuditEntry) async throws -> Bool { try await inner.deleteProfile(id: id, audit: audit) }
    func createAssignment(_ assignment: Assignment, audit: AuditEntry) async throws { try await inner.createAssignment(assignment, audit: audit) }
    func assignments() async throws -> [Assignment] { try await inner.assignments() }
    func deleteAssignment(id: AssignmentID, audit: AuditEntry) async throws -> Bool { try await inner.deleteAssignment(id: id, audit: audit) }
    func createDriver(_ driver: DriverRecord, audit: AuditEntry) async throws { try await inner.createDriver(driver, audit: audit) }
    func drivers() async throws -> [DriverRecord] { try await inner.drivers() }
    func driver(sha256: String) async throws -> DriverRecord? { try await inner.driver(sha256: sha256) }
    func planningSnapshot() async throws -> PlanningSnapshot { try await inner.planningSnapshot() }
    func createDriverCache(_ cache: DriverCacheRecord, audit: AuditEntry) async throws { try await inner.createDriverCache(cache, audit: audit) }
    func driverCaches() async throws -> [DriverCacheRecord] { try await inner.driverCaches() }
    func driverCache(agentID: AgentID) async throws -> DriverCacheRecord? { try await inner.driverCache(agentID: agentID) }
    func updateDriverCache(_ cache: DriverCacheRecord, audit: AuditEntry) async throws -> Bool { try await inner.updateDriverCache(cache, audit: audit) }
    func deleteDriverCache(id: DriverCacheID, audit: AuditEntry) async throws -> Bool { try await inner.deleteDriverCache(id: id, audit: audit) }
    func recordDriverCacheCertificate(id: DriverCacheID, serial: String, notAfter: Date, audit: AuditEntry) async throws -> Bool {
        try await inner.recordDriverCacheCertificate(id: id, serial: serial, notAfter: notAfter, audit: audit)
    }
    func directorySettings() async throws -> (settings: StoredDirectorySettings?, generation: Int64) { try await inner.directorySettings() }
    func saveDirectorySettings(_ settings: StoredDirectorySettings, audit: AuditEntry) async throws -> StoredDirectorySettings { try await inner.saveDirectorySettings(settings, audit: audit) }
    func deleteDirectorySettings(audit: AuditEntry) async throws -> Int64? { try await inner.deleteDirectorySettings(audit: audit) }
    func jobs(matching filter: JobFilter, limit: Int, offset: Int) async throws -> [JobRecord] { try await inner.jobs(matching: filter, limit: limit, offset: offset) }
    func jobTotals(matching filter: JobFilter) async throws -> JobTotals { try await inner.jobTotals(matching: filter) }
    func auditEntries(limit: Int, offset: Int) async throws -> [AuditRecord] { try await inner.auditEntries(limit: limit, offset: offset) }
    func createConsoleSession(_ session: ConsoleSessionRecord, replacing: String?, audit: AuditEntry) async throws { try await inner.createConsoleSession(session, replacing: replacing, audit: audit) }
    func consoleSession(idHash: String) async throws -> ConsoleSessionRecord? { try await inner.consoleSession(idHash: idHash) }
    func touchConsoleSession(idHash: String, at: Date) async throws { try await inner.touchConsoleSession(idHash: idHash, at: at) }
    func deleteConsoleSession(idHash: String, audit: AuditEntry?) async throws -> Bool { try await inner.deleteConsoleSession(idHash: idHash, audit: audit) }
    func appendAudit(_ entry: AuditEntry) async throws { try await inner.appendAudit(entry) }
    func registerHeldJobs(_ jobs: [HeldJobRegistration], agentID: AgentID, receivedAt: Date, maximumHold: TimeInterval) async throws -> HeldJobIngestResult {
        try await inner.registerHeldJobs(jobs, agentID: agentID, receivedAt: receivedAt, maximumHold: maximumHold)
    }
    func heldJobs(user: String, states: Set<HeldJobState>?, limit: Int) async throws -> [HeldJobStatus] { try await inner.heldJobs(user: user, states: states, limit: limit) }
    func heldJob(id: JobID, user: String) async throws -> (status: HeldJobStatus, agentID: AgentID)? { try await inner.heldJob(id: id, user: user) }
    func releaseHeldJob(id: JobID, user: String, printer: PlannedPrinter, at: Date, audit: AuditEntry) async throws -> HeldJobChange {
        try await inner.releaseHeldJob(id: id, user: user, printer: printer, at: at, audit: audit)
    }
    func cancelHeldJob(id: JobID, user: String, at: Date, audit: AuditEntry) async throws -> HeldJobChange { try await inner.cancelHeldJob(id: id, user: user, at: at, audit: audit) }
    func pendingReleases(agentID: AgentID) async throws -> PendingReleases { try await inner.pendingReleases(agentID: agentID) }
    func expireHeldJobs(at: Date) async throws -> Int { try await inner.expireHeldJobs(at: at) }
    func heldJobTotals(matching filter: JobFilter) async throws -> HeldJobTotals { try await inner.heldJobTotals(matching: filter) }
    func isReady() async -> Bool { await inner.isReady() }
}

/// A store whose job commits take a while, to catch shutdown while ingest is in flight.
struct SlowIngestStore: Store {
    let crashing: CrashAfterCommitStore
    func recordJobs(_ jobs: [JobRecord], agentID: AgentID, receivedAt: Date) async throws -> JobIngestResult {
        try await Task.sleep(for: .milliseconds(600))
        return try await crashing.inner.recordJobs(jobs, agentID: agentID, receivedAt: receivedAt)
    }
    func createEnrollmentToken(_ token: EnrollmentTokenRecord, audit: AuditEntry) async throws { try await crashing.createEnrollmentToken(token, audit: audit) }
    func enrollmentTokens() async throws -> [EnrollmentTokenRecord] { try await crashing.enrollmentTokens() }
    func revokeEnrollmentToken(id: EnrollmentTokenID, at: Date, audit: AuditEntry) async throws -> Bool { try await crashing.revokeEnrollmentToken(id: id, at: at, audit: audit) }
    func enroll(tokenHash: String, request: EnrollRequest, credentialHash: String, at: Date) async throws -> Result<AgentRecord, TokenRefusal> {
        try await crashing.enroll(tokenHash: tokenHash, request: request, credentialHash: credentialHash, at: at)
    }
    func authenticateAgent(credentialHash: String) async throws -> AgentAuthentication? { try await crashing.authenticateAgent(credentialHash: credentialHash) }
    func agents() async throws -> [AgentRecord] { try await crashing.agents() }
    func revokeAgent(id: AgentID, at: Date, audit: AuditEntry) async throws -> Bool { try await crashing.revokeAgent(id: id, at: at, audit: audit) }
    func createPrinter(_ printer: PrinterRecord, audit: AuditEntry) async throws { try await crashing.createPrinter(printer, audit: audit) }
    func printers() async throws -> [PrinterRecord] { try await crashing.printers() }
    func deletePrinter(id: PrinterID, audit: AuditEntry) async throws -> Bool { try await crashing.deletePrinter(id: id, audit: audit) }
    func setPrinterDriver(id: PrinterID, driverID: DriverID?, audit: AuditEntry) async throws -> Bool { try await crashing.setPrinterDriver(id: id, driverID: driverID, audit: audit) }
    func createProfile(_ profile: ProfileRecord, audit: AuditEntry) async throws { try await crashing.createProfile(profile, audit: audit) }
    func profiles() async throws -> [ProfileRecord] { try await crashing.profiles() }
    func deleteProfile(id: ProfileID, audit: AuditEntry) async throws -> Bool { try await crashing.deleteProfile(id: id, audit: audit) }
    func createAssignment(_ assignment: Assignment, audit: AuditEntry) async throws { try await crashing.createAssignment(assignment, audit: audit) }
    func assignments() async throws -> [Assignment] { try await crashing.assignments() }
    func deleteAssignment(id: AssignmentID, audit: AuditEntry) async throws -> Bool { try await crashing.deleteAssignment(id: id, audit: audit) }
    func createDriver(_ driver: DriverRecord, audit: AuditEntry) async throws { try await crashing.createDriver(driver, audit: audit) }
    func drivers() async throws -> [DriverRecord] { try await crashing.drivers() }
    func driver(sha256: String) async throws -> DriverRecord? { try await crashing.driver(sha256: sha256) }
    func planningSnapshot() async throws -> PlanningSnapshot { try await crashing.planningSnapshot() }
    func createDriverCache(_ cache: DriverCacheRecord, audit: AuditEntry) async throws { try await crashing.createDriverCache(cache, audit: audit) }
    func driverCaches() async throws -> [DriverCacheRecord] { try await crashing.driverCaches() }
    func driverCache(agentID: AgentID) async throws -> DriverCacheRecord? { try await crashing.driverCache(agentID: agentID) }
    func updateDriverCache(_ cache: DriverCacheRecord, audit: AuditEntry) async throws -> Bool { try await crashing.updateDriverCache(cache, audit: audit) }
    func deleteDriverCache(id: DriverCacheID, audit: AuditEntry) async throws -> Bool { try await crashing.deleteDriverCache(id: id, audit: audit) }
    func recordDriverCacheCertificate(id: DriverCacheID, serial: String, notAfter: Date, audit: AuditEntry) async throws -> Bool {
        try await crashing.recordDriverCacheCertificate(id: id, serial: serial, notAfter: notAfter, audit: audit)
    }
    func directorySettings() async throws -> (settings: StoredDirectorySettings?, generation: Int64) { try await crashing.directorySettings() }
    func saveDirectorySettings(_ settings: StoredDirectorySettings, audit: AuditEntry) async throws -> StoredDirectorySettings { try await crashing.saveDirectorySettings(settings, audit: audit) }
    func deleteDirectorySettings(audit: AuditEntry) async throws -> Int64? { try await crashing.deleteDirectorySettings(audit: audit) }
    func jobs(matching filter: JobFilter, limit: Int, offset: Int) async throws -> [JobRecord] { try await crashing.jobs(matching: filter, limit: limit, offset: offset) }
    func jobTotals(matching filter: JobFilter) async throws -> JobTotals { try await crashing.jobTotals(matching: filter) }
    func auditEntries(limit: Int, offset: Int) async throws -> [AuditRecord] { try await crashing.auditEntries(limit: limit, offset: offset) }
    func createConsoleSession(_ session: ConsoleSessionRecord, replacing: String?, audit: AuditEntry) async throws { try await crashing.createConsoleSession(session, replacing: replacing, audit: audit) }
    func consoleSession(idHash: String) async throws -> ConsoleSessionRecord? { try await crashing.consoleSession(idHash: idHash) }
    func touchConsoleSession(idHash: String, at: Date) async throws { try await crashing.touchConsoleSession(idHash: idHash, at: at) }
    func deleteConsoleSession(idHash: String, audit: AuditEntry?) async throws -> Bool { try await crashing.deleteConsoleSession(idHash: idHash, audit: audit) }
    func appendAudit(_ entry: AuditEntry) async throws { try await crashing.appendAudit(entry) }
    func registerHeldJobs(_ jobs: [HeldJobRegistration], agentID: AgentID, receivedAt: Date, maximumHold: TimeInterval) async throws -> HeldJobIngestResult {
        try await crashing.registerHeldJobs(jobs, agentID: agentID, receivedAt: receivedAt, maximumHold: maximumHold)
    }
    func heldJobs(user: String, states: Set<HeldJobState>?, limit: Int) async throws -> [HeldJobStatus] { try await crashing.heldJobs(user: user, states: states, limit: limit) }
    func heldJob(id: JobID, user: String) async throws -> (status: HeldJobStatus, agentID: AgentID)? { try await crashing.heldJob(id: id, user: user) }
    func releaseHeldJob(id: JobID, user: String, printer: PlannedPrinter, at: Date, audit: AuditEntry) async throws -> HeldJobChange {
        try await crashing.releaseHeldJob(id: id, user: user, printer: printer, at: at, audit: audit)
    }
    func cancelHeldJob(id: JobID, user: String, at: Date, audit: AuditEntry) async throws -> HeldJobChange { try await crashing.cancelHeldJob(id: id, user: user, at: at, audit: audit) }
    func pendingReleases(agentID: AgentID) async throws -> PendingReleases { try await crashing.pendingReleases(agentID: agentID) }
    func expireHeldJobs(at: Date) async throws -> Int { try await crashing.expireHeldJobs(at: at) }
    func heldJobTotals(matching filter: JobFilter) async throws -> HeldJobTotals { try await crashing.heldJobTotals(matching: filter) }
    func isReady() async -> Bool { await crashing.isReady() }
}

@Suite("Job ingest over TLS")
struct IngestTests {
    static func batch(_ prefix: String, _ count: Int) -> [JobRecord] {
        (0..<count).map { makeJob("\(prefix)-\($0)", pages: $0 % 7 + 1) }
    }

    @Test("the same batch sent twice stores each job once and acknowledges both")
    func twice() async throws {
        try await withTestServer { server in
            let agent = try await server.enrolledAgent()
            let jobs = Self.batch("twice", 50)
            let first = try await server.postJobs(agent.deviceCredential, jobs).decode(JobBatchResponse.self)
            #expect(first.accepted.count == 50 && first.duplicates.isEmpty && first.rejected.isEmpty)
            let second = try await server.postJobs(agent.deviceCredential, jobs).decode(JobBatchResponse.self)
            #expect(second.accepted.isEmpty && second.duplicates.count == 50)
            #expect(try await server.server.store.jobTotals(matching: JobFilter()).jobs == 50)
        }
    }

    @Test("the same batch sent concurrently stores each job once")
    func concurrently() async throws {
        try await withTestServer { server in
            let agent = try await server.enrolledAgent()
            let jobs = Self.batch("race", 100)
            let accepted = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let response = try await server.postJobs(agent.deviceCredential, jobs)
                        #expect(response.status == 200)
                        let ack = try response.decode(JobBatchResponse.self)
                        #expect(ack.accepted.count + ack.duplicates.count == 100)
                        return ack.accepted.count
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(accepted == 100)
            #expect(try await server.server.store.jobTotals(matching: JobFilter()).jobs == 100)
        }
    }

    @Test("a crash between commit and acknowledgement loses nothing: the retry after restart is acknowledged as duplicates")
    func crashBetweenCommitAndAck() async throws {
        let directory = temporaryDirectory()
        let crashing = CrashAfterCommitStore(inner: try SQLiteStore(path: directory + "/printplane.sqlite"))
        let jobs = Self.batch("crash", 40)
        let credential = try await withTestServer(dataDirectory: directory, store: crashing) { server in
            let agent = try await server.enrolledAgent()
            let response = try await server.postJobs(agent.deviceCredential, jobs)
            #expect(response.status == 500, "the agent got no acknowledgement")
            return agent.deviceCredential
        }
        // Restart on the same data directory, as the real store.
        try await withTestServer(dataDirectory: directory) { server in
            let ack = try await server.postJobs(credential, jobs).decode(JobBatchResponse.self)
            #expect(ack.accepted.isEmpty && ack.duplicates.count == 40)
            let stored = try await server.server.store.jobs(matching: JobFilter(), limit: 1000, offset: 0)
            #expect(Set(stored.map(\.jobID)) == Set(jobs.map(\.jobID)))
        }
    }

    @Test("bad records get per-record errors while good ones in the same batch are stored")
    func perRecordErrors() async throws {
        try await withTestServer { server in
            let agent = try await server.enrolledAgent()
            let good = try String(decoding: WireCoding.makeEncoder().encode(makeJob("good-1")), as: UTF8.self)
            var invalid = makeJob("bad-copies")
            invalid.copies = 0
            let invalidJSON = try String(decoding: WireCoding.makeEncoder().encode(invalid), as: UTF8.self)
            let body = #"{"jobs":[\#(good),\#(invalidJSON),{"job_id":"bad-type","pages":"many"},42]}"#
            let response = try await server.request(.POST, "/api/v1/agent/jobs", body: Data(body.utf8), bearer: agent.deviceCredential)
            #expect(response.status == 200, "\(response.text)")
            let ack = try response.decode(JobBatchResponse.self)
            #expect(ack.accepted == ["good-1"])
            #expect(ack.rejected.map(\.index) == [1, 2, 3])
            #expect(ack.rejected.map(\.reason) == ["invalid_record", "malformed_record", "malformed_record"])
            #expect(ack.rejected[1].jobID == "bad-type")
            #expect(try await server.server.store.jobTotals(matching: JobFilter()).jobs == 1)
        }
    }

    @Test("graceful shutdown lets an in-flight ingest commit and answer")
    func gracefulShutdown() async throws {
        let directory = temporaryDirectory()
        let store = SlowIngestStore(crashing: CrashAfterCommitStore(inner: try SQLiteStore(path: directory + "/printplane.sqlite")))
        var configuration = ServerConfiguration(dataDirectory: directory)
        configuration.port = 0
        let server = try PrintplaneServer.build(configuration: configuration, logger: .init(label: "test"), store: store)
        let group = ServiceGroup(configuration: .init(services: [server], logger: .init(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await server.waitUntilListening()
            let caPEM = try String(contentsOfFile: server.identity.caCertificatePath, encoding: .utf8)
            let adminKey = try String(contentsOfFile: server.identity.adminKeyPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let client = try makeClient(caPEM: caPEM)
            let test = TestServer(server: server, port: port, client: client, plainClient: client, dataDirectory: directory, adminKey: adminKey, caPEM: caPEM)
            let agent = try await test.enrolledAgent()
            async let answer = test.postJobs(agent.deviceCredential, Self.batch("drain", 10))
            try await Task.sleep(for: .milliseconds(200))
            await group.triggerGracefulShutdown()
            let response = try await answer
            #expect(response.status == 200)
            #expect(try response.decode(JobBatchResponse.self).accepted.count == 10)
            try await tasks.waitForAll()
            try await client.shutdown()
        }
        #expect(try await SQLiteStore(path: directory + "/printplane.sqlite").jobTotals(matching: JobFilter()).jobs == 10)
    }
}
