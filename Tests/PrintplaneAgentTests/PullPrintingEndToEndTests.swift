import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PrintplaneCore
import ServiceLifecycle
import Testing

@testable import FakePrinter
@testable import PrintplaneAgent
@testable import PrintplaneServer

/// Every request the agent sends, kept so a test can prove what reached the server.
final class RecordingTransport: AgentHTTPTransport {
    let inner: any AgentHTTPTransport
    private let sent = NIOLockedValueBox<[(url: String, body: Data)]>([])

    init(_ inner: any AgentHTTPTransport) {
        self.inner = inner
    }

    var requests: [(url: String, body: Data)] { self.sent.withLockedValue { $0 } }

    func send(_ request: AgentHTTPRequest, limit: Int) async throws -> (AgentHTTPHead, ByteBuffer) {
        self.sent.withLockedValue { $0.append((request.url, Data((request.body ?? ByteBuffer()).readableBytesView))) }
        return try await self.inner.send(request, limit: limit)
    }

    func download(_ request: AgentHTTPRequest, into sink: some AgentDownloadSink) async throws -> AgentHTTPHead {
        self.sent.withLockedValue { $0.append((request.url, Data((request.body ?? ByteBuffer()).readableBytesView))) }
        return try await self.inner.download(request, into: sink)
    }
}

/// Pull printing end to end, in this process on loopback over TLS: the reference server, fake
/// printers on real sockets, a real on-disk agent and its daemon.
@Suite(.serialized) struct PullPrintingEndToEndTests {
    /// A 3-page PostScript document carrying a marker that must never reach the server.
    static func document(marker: String) throws -> ByteBuffer {
        var document = try fixture("groff-3pages.ps")
        document.writeString("% \(marker)\n")
        return document
    }

    /// An on-disk agent whose every HTTP request is recorded.
    static func recordedAgent(stateDirectory: String = makeTemporaryDirectory(), caPEM: String?) async throws -> (DiskAgent, RecordingTransport) {
        let configuration = AgentConfiguration(stateDirectory: stateDirectory)
        if let caPEM { try AgentDaemon.saveCA(caPEM, configuration: configuration) }
        var (environment, http) = try AgentDaemon.environment(configuration: configuration, logger: testLogger("printplane.agent.test"))
        let recorder = RecordingTransport(http)
        environment.http = recorder
        return (DiskAgent(configuration: configuration, agent: try await Agent.load(environment: environment), http: http), recorder)
    }

    /// Runs the daemon (fast upload loop) around `body`, then stops it gracefully.
    static func withDaemon<T: Sendable>(_ disk: DiskAgent, _ body: () async throws -> T) async throws -> T {
        var configuration = disk.configuration
        configuration.uploadInterval = .milliseconds(200)
        configuration.maximumBackoff = .seconds(1)
        configuration.ipAddresses = []
        let logger = testLogger("printplane.agent.test")
        let group = ServiceGroup(configuration: .init(services: [AgentService(agent: disk.agent, configuration: configuration, logger: logger)], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let result = try await body()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    static func user(_ server: RestartableServer, _ name: String = "alice") -> UserClient.Configuration {
        UserClient.Configuration(serverURL: server.url, caPEM: server.caPEM, credentials: .adminKey(server.adminKey, user: name))
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(_ timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(25))
        }
        return try await condition()
    }

    static func heldState(_ server: RestartableServer, _ id: JobID, user: String = "alice") async throws -> HeldJobState? {
        try await UserClient.with(Self.user(server, user)) { try await $0.heldJobs() }.first { $0.job.jobID == id }?.state
    }

    /// Every byte under `directory` (the server's database, WAL and all).
    static func allBytes(under directory: String) -> Data {
        var data = Data()
        for path in FileManager.default.enumerator(atPath: directory)?.compactMap({ $0 as? String }) ?? [] {
            data.append(FileManager.default.contents(atPath: directory + "/" + path) ?? Data())
        }
        return data
    }

    @Test func aHeldJobReleasedAtAnotherPrinterPrintsThereAtOnceAndOnlyMetadataReachesTheServer() async throws {
        let server = RestartableServer()
        try await server.start()
        try await withPrinters(count: 3) { printers, endpoints in
            // The fleet: P1 (RAW) and P2 (LPR) are installed; "Lobby" (LPR) is assigned to nobody.
            let fleet = try await setUpFleet(server, endpoints: FakePrinterService.Endpoints(printers: Array(endpoints.printers.prefix(2)), httpPort: nil))
            let lobby = endpoints.printers[2]
            _ = try await server.admin { try await $0.createPrinter(name: "Lobby", address: lobby.address, protocol: .lpr, port: lobby.lpdPort, queue: "lp") }
            let (disk, recorder) = try await Self.recordedAgent(caPEM: server.caPEM)
            try await disk.agent.enroll(serverURL: server.url, token: fleet.token, machine: testMachine)
            _ = await disk.agent.checkIn(user: "alice", ipAddresses: [])
            #expect(await disk.agent.state.installed.map(\.printer.name).sorted() == fleet.printers.map(\.name).sorted())

            // Print with --hold to P1: the document stays here.
            let marker = "PRINTPLANE-SECRET-\(UUID().uuidString)"
            let document = try Self.document(marker: marker)
            let held = try await disk.agent.print(document: document, documentName: "payslip.ps", printerName: fleet.printers[0].name, user: "alice", hold: true)
            #expect(held.held && held.record.pages == 3)
            let id = held.record.jobID
            #expect(try FileManager.default.contentsOfDirectory(atPath: disk.configuration.spoolDirectory).count == 1)

            try await Self.withDaemon(disk) {
                // The daemon registers it; the server lists it for alice (and not for bob).
                #expect(try await Self.eventually { try await Self.heldState(server, id) == .held })
                #expect(try await UserClient.with(Self.user(server, "bob")) { try await $0.heldJobs() }.isEmpty)
                let hub = try #require(server.current?.hub)
                #expect(try await Self.eventually { hub.waiting >= 1 }, "the daemon holds a long-poll")

                // Alice releases it at the Lobby printer: the daemon hears at once and prints there.
                let status = try await UserClient.with(Self.user(server)) { try await $0.release(id, to: ReleaseRequest(printer: "Lobby")) }
                // Timed from the release's acknowledgement (a fully loaded CI can take seconds
                // to connect and serve the release call itself); without the long-poll the
                // daemon would hear of it only at its next check-in, a minute away here.
                let releasedAt = ContinuousClock.now
                #expect(status.state == .released && status.releasedTo == "Lobby")
                #expect(try await Self.eventually { await printers.printers[2].jobs().count == 1 })
                let printedAfter = ContinuousClock.now - releasedAt
                #expect(printedAfter < .seconds(5), "the job reached the printer \(printedAfter) after the release was acknowledged")

                // The printer got exactly the document, with the default profile as PJL, by LPR.
                let job = try #require(await printers.printers[2].jobs().first)
                #expect(job.transport == .lpd && job.queue == "lp" && job.state == .printed)
                #expect(job.jobName == id.rawValue && job.user == "alice" && job.pages == 3)
                let stored = try Data(contentsOf: URL(fileURLWithPath: printers.printers[2].documentPath(storedAs: try #require(job.documents.first?.storedAs))))
                let expected = PrintJobFormatter.payload(document: document, language: .postScript, profile: .default, jobID: id, user: "alice", protocol: .lpr)
                #expect(stored == Data(expected.readableBytesView), "byte for byte")
                #expect(await printers.printers[0].jobs().isEmpty, "not printed where it was held")
                #expect(await printers.printers[1].jobs().isEmpty, "not printed where it was held")

                // The server records it printed, once; the spool is empty.
                #expect(try await Self.eventually { try await Self.heldState(server, id) == .printed })
                let jobs = try await server.admin { try await $0.allJobs() }
                #expect(jobs.map(\.jobID) == [id])
                #expect(jobs.first?.outcome == .printed && jobs.first?.printer == "Lobby" && jobs.first?.pages == 3 && jobs.first?.protocol == .lpr)
                #expect(try FileManager.default.contentsOfDirectory(atPath: disk.configuration.spoolDirectory).isEmpty)
                #expect(try await disk.agent.environment.spool.heldJobs().isEmpty)
                #expect(try await Self.eventually { await disk.agent.pendingUploads() == 0 })
            }

            // Only metadata ever went to the server: not in any request, not in anything it stored.
            let requests = recorder.requests
            #expect(requests.contains { $0.url.hasSuffix("/api/v1/agent/held-jobs") })
            #expect(requests.contains { $0.url.contains("/api/v1/agent/releases?wait=") })
            for request in requests {
                #expect(!String(decoding: request.body, as: UTF8.self).contains(marker), "\(request.url) carried document bytes")
                #expect(request.body.count < 64 * 1024)
            }
            #expect(Self.allBytes(under: server.dataDirectory).range(of: Data(marker.utf8)) == nil, "the server stored document bytes")
            #expect(Self.allBytes(under: server.dataDirectory).range(of: Data(id.rawValue.utf8)) != nil, "(the search does see what the server stored)")
            await disk.close()
        }
        await server.stop()
    }

    @Test func aRestartAndAServerOutageBetweenHoldAndReleaseLoseNothing() async throws {
        let server = RestartableServer()
        try await server.start()
        try await withPrinters(count: 2) { printers, endpoints in
            let fleet = try await setUpFleet(server, endpoints: endpoints, driverSize: 2_000)
            let stateDirectory = makeTemporaryDirectory()
            var disk = try await DiskAgent.make(stateDirectory: stateDirectory, caPEM: server.caPEM)
            try await disk.agent.enroll(serverURL: server.url, token: fleet.token, machine: testMachine)
            _ = await disk.agent.checkIn(user: "bob", ipAddresses: [])

            // The server is down when the job is held: the registration waits in the outbox.
            await server.stop()
            let held = try await disk.agent.print(document: try fixture("groff-3pages.ps"), documentName: "a.ps", printerName: fleet.printers[0].name, user: "bob", hold: true)
            let upload = await disk.agent.uploadOutbox()
            if case .failed = upload.stoppedBy {} else { Issue.record("the registration went through a stopped server: \(upload)") }
            #expect(upload.remaining == 1)

            // The agent restarts (a new process reads the same state directory).
            await disk.close()
            disk = try await DiskAgent.make(stateDirectory: stateDirectory)
            #expect(try await disk.agent.environment.spool.pendingRegistrations(limit: 10).map(\.jobID) == [held.record.jobID])

            // The server comes back; the daemon registers the job; bob releases it at P2 (LPR).
            try await server.start()
            try await Self.withDaemon(disk) {
                #expect(try await Self.eventually { try await Self.heldState(server, held.record.jobID, user: "bob") == .held })
                _ = try await UserClient.with(Self.user(server, "bob")) { try await $0.release(held.record.jobID, to: ReleaseRequest(printer: fleet.printers[1].name)) }
                #expect(try await Self.eventually { await printers.printers[1].jobs().count == 1 })
                #expect(try await Self.eventually { try await Self.heldState(server, held.record.jobID, user: "bob") == .printed })
            }
            let job = try #require(await printers.printers[1].jobs().first)
            #expect(job.jobName == held.record.jobID.rawValue && job.pages == 3)
            let stored = try String(contentsOfFile: printers.printers[1].documentPath(storedAs: try #require(job.documents.first?.storedAs)), encoding: .utf8)
            #expect(stored.contains("@PJL SET DUPLEX=ON\r\n@PJL SET BINDING=LONGEDGE"), "P2's duplex profile applied")
            #expect(await printers.printers[0].jobs().isEmpty)
            #expect(try await server.admin { try await $0.allJobs() }.map(\.jobID) == [held.record.jobID])
            #expect(try FileManager.default.contentsOfDirectory(atPath: disk.configuration.spoolDirectory).isEmpty)
            await disk.close()
        }
        await server.stop()
    }

    @Test func expiredJobsAreDeletedLocallyAndCannotBeReleased() async throws {
        let server = RestartableServer()
        try await server.start()
        try await withPrinters(count: 1) { printers, endpoints in
            let fleet = try await setUpFleet(server, endpoints: endpoints, driverSize: 2_000)
            let disk = try await DiskAgent.make(caPEM: server.caPEM)
            try await disk.agent.enroll(serverURL: server.url, token: fleet.token, machine: testMachine)
            _ = await disk.agent.checkIn(user: "carol", ipAddresses: [])
            let held = try await disk.agent.print(
                document: try fixture("groff-3pages.ps"), documentName: "short.ps", printerName: fleet.printers[0].name, user: "carol", hold: true, holdTime: 2)
            let id = held.record.jobID
            try await Self.withDaemon(disk) { () async throws -> Void in
                #expect(try await Self.eventually { try await Self.heldState(server, id, user: "carol") == .held })
                // The daemon deletes the document at its expiry and tells the server.
                #expect(try await Self.eventually { try FileManager.default.contentsOfDirectory(atPath: disk.configuration.spoolDirectory).isEmpty })
                #expect(try await disk.agent.environment.spool.heldJobs().isEmpty)
                #expect(try await Self.eventually { try await Self.heldState(server, id, user: "carol") == .expired })
                let refused = await #expect(throws: AdminClient.Failure.self) {
                    _ = try await UserClient.with(Self.user(server, "carol")) { try await $0.release(id, to: ReleaseRequest(printer: fleet.printers[0].name)) }
                }
                #expect(refused?.status == 409 && refused?.reason == "held_job_expired")
            }
            #expect(await printers.printers[0].jobs().isEmpty)
            let jobs = try await server.admin { try await $0.allJobs() }
            #expect(jobs.map(\.outcome) == [.expired])
            await disk.close()
        }
        await server.stop()
    }

    @Test func cancelledJobsAreDeletedAndFailedReleasesSayWhy() async throws {
        let server = RestartableServer()
        try await server.start()
        try await withPrinters(count: 2) { printers, endpoints in
            let fleet = try await setUpFleet(server, endpoints: endpoints, driverSize: 2_000)
            let disk = try await DiskAgent.make(caPEM: server.caPEM)
            try await disk.agent.enroll(serverURL: server.url, token: fleet.token, machine: testMachine)
            _ = await disk.agent.checkIn(user: "dave", ipAddresses: [])
            var ids = [JobID]()
            for index in 0..<3 {
                let held = try await disk.agent.print(document: try fixture("groff-3pages.ps"), documentName: "d\(index).ps", printerName: fleet.printers[0].name, user: "dave", hold: true)
                ids.append(held.record.jobID)
            }
            try await Self.withDaemon(disk) {
                for id in ids { #expect(try await Self.eventually { try await Self.heldState(server, id, user: "dave") == .held }) }
                let client = Self.user(server, "dave")

                // Cancelled: the daemon deletes the document; the server records it cancelled.
                _ = try await UserClient.with(client) { try await $0.cancel(ids[0]) }
                #expect(try await Self.eventually { try await disk.agent.environment.spool.document(ids[0]) == nil })
                #expect(try await Self.eventually { try await server.current?.store.pendingReleases(agentID: disk.agent.identity!.agentID).isEmpty == true })

                // Released to a printer that is offline: failed, with the printer's reason.
                try await printers.printers[1].setFaults(PrinterFaults(offline: true))
                _ = try await UserClient.with(client) { try await $0.release(ids[1], to: ReleaseRequest(printer: fleet.printers[1].name)) }
                #expect(try await Self.eventually { try await Self.heldState(server, ids[1], user: "dave") == .failed })

                // Released after the spool lost the document: failed, document_missing.
                let path = disk.configuration.spoolDirectory + "/" + ids[2].rawValue + ".job"
                #expect(FileManager.default.fileExists(atPath: path))
                try FileManager.default.removeItem(atPath: path)
                _ = try await UserClient.with(client) { try await $0.release(ids[2], to: ReleaseRequest(printer: fleet.printers[0].name)) }
                #expect(try await Self.eventually { try await Self.heldState(server, ids[2], user: "dave") == .failed })

                let statuses = try await UserClient.with(client) { try await $0.heldJobs() }
                let byID = Dictionary(uniqueKeysWithValues: statuses.map { ($0.job.jobID, $0) })
                #expect(byID[ids[0]]?.state == .cancelled)
                #expect(byID[ids[1]]?.failure?.hasPrefix("printer: ") == true, "\(byID[ids[1]]?.failure ?? "none")")
                #expect(byID[ids[2]]?.failure?.hasPrefix("document_missing") == true, "\(byID[ids[2]]?.failure ?? "none")")
            }
            #expect(await printers.printers[0].jobs().isEmpty)
            #expect(await printers.printers[1].jobs().isEmpty)
            #expect(try await disk.agent.environment.spool.heldJobs().isEmpty)
            let outcomes = Dictionary(uniqueKeysWithValues: try await server.admin { try await $0.allJobs() }.map { ($0.jobID, $0.outcome) })
            #expect(outcomes == [ids[0]: .cancelled, ids[1]: .failed, ids[2]: .failed])
            await disk.close()
        }
        await server.stop()
    }
}

/// The agent's release handling without a server: a release for a job it does not hold.
@Suite struct ReleaseHandlingTests {
    /// Refuses every request, as an unreachable server would.
    struct DeadTransport: AgentHTTPTransport {
        func send(_ request: AgentHTTPRequest, limit: Int) async throws -> (AgentHTTPHead, ByteBuffer) { throw TestFailure("no server") }
        func download(_ request: AgentHTTPRequest, into sink: some AgentDownloadSink) async throws -> AgentHTTPHead { throw TestFailure("no server") }
    }

    @Test func aReleaseOfAJobTheSpoolDoesNotHaveIsRecordedFailedWithTheReasonOnce() async throws {
        let storage = MemoryOutbox()
        let environment = AgentEnvironment(
            http: DeadTransport(), clock: SystemAgentClock(), drivers: MemoryDriverStore(), installer: StateOnlyPrinterInstaller(),
            printers: NIOPrinterTransport(), outbox: storage, spool: storage, state: EphemeralAgentStateStore(), logger: testLogger("printplane.agent.test"))
        let identity = AgentIdentity(
            serverURL: "https://127.0.0.1:1", agentID: "a1", deviceCredential: "ppd_x",
            driverSigningPublicKey: Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString(), hostname: "ws",
            machineID: "m", enrolledAt: Date(), checkinIntervalSeconds: 60)
        let agent = try Agent(environment: environment, identity: identity)
        let job = HeldJobRegistration(
            jobID: "gone", user: "erin", computer: "ws", printer: "P1", documentName: "x.ps", pages: 1, copies: 1, color: false,
            duplex: false, bytes: 10, protocol: .raw, heldAt: Date(), expiresAt: Date().addingTimeInterval(60))
        let printer = PlannedPrinter(id: "p", name: "P9", address: "127.0.0.1", protocol: .raw, port: 1, queue: nil, location: nil, driver: nil, profile: .default)
        let release = HeldJobRelease(job: job, printer: printer, releasedAt: Date(), releasedBy: "erin")
        let handled = await agent.handle(PendingReleases(releases: [release]))
        #expect(handled.failed == ["gone"] && handled.printed.isEmpty)
        let records = try await storage.pending(limit: 10)
        #expect(records.count == 1)
        #expect(records.first?.outcome == .failed && records.first?.failure?.hasPrefix("document_missing") == true)
        // Announced again (the record has not reached the server): nothing new, nothing printed.
        _ = await agent.handle(PendingReleases(releases: [release]))
        #expect(try await storage.pending(limit: 10).count == 1)
    }
}
