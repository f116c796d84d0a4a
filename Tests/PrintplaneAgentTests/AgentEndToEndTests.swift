import FakePrinter
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PrintplaneCore
import PrintplaneServer
import ServiceLifecycle
import Testing

@testable import PrintplaneAgent

/// The reference server, the fake printer and a real on-disk agent, in this process on
/// loopback: setup, printing, an outage, and printer faults (issue 5's end-to-end tests).
@Suite(.serialized) struct AgentEndToEndTests {
    @Test func enrollsInstallsVerifiedDriversAndPrintsDirect() async throws {
        let server = RestartableServer()
        try await server.start()
        defer { Task { await server.stop() } }
        try await withPrinters(count: 2) { printers, endpoints in
            let fleet = try await setUpFleet(server, endpoints: endpoints)
            let disk = try await DiskAgent.make(caPEM: server.caPEM)
            defer { Task { await disk.close() } }

            // Enrollment stores the credential and the signing key, 0600.
            let identity = try await disk.agent.enroll(serverURL: server.url, token: fleet.token, machine: testMachine)
            for file in ["credential.json", "driver-signing.pub"] {
                let mode = try FileManager.default.attributesOfItem(atPath: "\(disk.configuration.stateDirectory)/\(file)")[.posixPermissions] as? NSNumber
                #expect(mode?.intValue == 0o600, "\(file) mode")
            }
            #expect(identity.serverURL == server.url)

            // The first check-in installs both printers with the verified driver.
            let outcome = await disk.agent.checkIn(user: "alice", ipAddresses: ["127.0.0.1"])
            guard case .applied(let changes, _) = outcome else {
                Issue.record("expected an applied plan, got \(outcome)")
                return
            }
            #expect(Set(changes.installed) == Set(fleet.printers.map(\.name)))
            #expect(changes.driverBytes == Int64(fleet.driverBytes.readableBytes))
            let sha = fleet.driver.manifest.manifest.sha256
            let stored = try Data(contentsOf: URL(fileURLWithPath: "\(disk.configuration.driversDirectory)/\(sha).driver"))
            #expect(stored == Data(fleet.driverBytes.readableBytesView))
            for printer in fleet.printers {
                let queue = "\(disk.configuration.queuesDirectory)/\(QueueDefinitionInstaller.fileName(for: printer.name))"
                let definition = try WireCoding.makeDecoder().decode(QueueDefinitionInstaller.QueueDefinition.self, from: Data(contentsOf: URL(fileURLWithPath: queue)))
                #expect(definition.printer.address == printer.address)
                #expect(definition.driverSHA256 == sha)
            }
            // A second check-in is the cheap "unchanged" answer.
            guard case .unchanged = await disk.agent.checkIn(user: "alice", ipAddresses: ["127.0.0.1"]) else {
                Issue.record("expected unchanged")
                return
            }

            // Print a 3-page PostScript file over RAW and a 5-page PDF over LPR.
            let ps = try await disk.agent.print(document: try fixture("groff-3pages.ps"), documentName: "report.ps", printerName: fleet.printers[0].name, user: "alice")
            let pdf = try await disk.agent.print(document: try fixture("gs-pdfwrite-5pages.pdf"), documentName: "slides.pdf", printerName: fleet.printers[1].name, user: "alice")
            #expect(ps.failure == nil && pdf.failure == nil, "\(ps.failure ?? "") \(pdf.failure ?? "")")
            #expect(ps.record.pages == 3)
            #expect(pdf.record.pages == 5)
            #expect(try await disk.agent.environment.outbox.depth() == 2)

            // The fake printers recorded both, with the right pages and user, matched by job ID.
            let rawJobs = await printers.printers[0].jobs()
            let lprJobs = await printers.printers[1].jobs()
            #expect(rawJobs.count == 1 && lprJobs.count == 1)
            #expect(rawJobs.first?.jobName == ps.record.jobID.rawValue)
            #expect(rawJobs.first?.pages == 3)
            #expect(rawJobs.first?.user == "alice")
            #expect(rawJobs.first?.state == .printed)
            #expect(lprJobs.first?.jobName == pdf.record.jobID.rawValue)
            #expect(lprJobs.first?.pages == 5)
            #expect(lprJobs.first?.user == "alice")
            #expect(rawJobs.first?.pjl["DUPLEX"] == "ON")

            // The outbox drains; the server's report has exactly those two jobs, once each.
            let upload = await disk.agent.uploadOutbox()
            #expect(upload.stoppedBy == nil)
            #expect(upload.accepted == 2)
            #expect(try await disk.agent.environment.outbox.depth() == 0)
            let again = await disk.agent.uploadOutbox()
            #expect(again.accepted == 0)
            let jobs = try await server.admin { try await $0.allJobs() }
            #expect(jobs.map(\.jobID).sorted() == [ps.record.jobID, pdf.record.jobID].sorted())
            #expect(Set(jobs.map(\.pages)) == [3, 5])
            #expect(jobs.allSatisfy { $0.outcome == .printed && $0.user == "alice" && $0.computer == testMachine.hostname })
        }
    }

    /// A login and the schedule at once: the second check-in waits for the first instead of
    /// re-entering the actor, sending the old ETag and downloading the drivers a second time.
    @Test func concurrentCheckInsRunOneAfterTheOther() async throws {
        let server = RestartableServer()
        try await server.start()
        defer { Task { await server.stop() } }
        try await withPrinters(count: 2) { _, endpoints in
            let fleet = try await setUpFleet(server, endpoints: endpoints)
            let disk = try await DiskAgent.make(caPEM: server.caPEM)
            defer { Task { await disk.close() } }
            try await disk.agent.enroll(serverURL: server.url, token: fleet.token, machine: testMachine)
            async let first = disk.agent.checkIn(user: "alice", ipAddresses: ["127.0.0.1"])
            async let second = disk.agent.checkIn(user: "alice", ipAddresses: ["127.0.0.1"])
            let outcomes = await [first, second]
            var applied = 0
            var downloaded: Int64 = 0
            for outcome in outcomes {
                switch outcome {
                case .applied(let changes, _):
                    applied += 1
                    downloaded += changes.driverBytes
                case .unchanged:
                    break
                default:
                    Issue.record("unexpected outcome \(outcome)")
                }
            }
            #expect(applied == 1, "\(outcomes)")
            #expect(downloaded == Int64(fleet.driverBytes.readableBytes), "the driver came down once")
        }
    }

    @Test func twentyJobsPrintedDuringAnOutageArriveExactlyOnce() async throws {
        let server = RestartableServer()
        try await server.start()
        try await withPrinters(count: 1) { printers, endpoints in
            let fleet = try await setUpFleet(server, endpoints: endpoints, driverSize: 10_000)
            let stateDirectory = makeTemporaryDirectory()
            var disk = try await DiskAgent.make(stateDirectory: stateDirectory, caPEM: server.caPEM)
            try await disk.agent.enroll(serverURL: server.url, token: fleet.token, machine: testMachine)
            _ = await disk.agent.checkIn(user: "bob", ipAddresses: [])

            // 1. Stop the server. 2. Print 20 jobs: each reaches the printer, none reaches the cloud.
            await server.stop()
            var printed = [JobID]()
            for index in 0..<20 {
                let result = try await disk.agent.print(document: try fixture("groff-3pages.ps"), documentName: "doc-\(index).ps", printerName: fleet.printers[0].name, user: "bob")
                #expect(result.failure == nil)
                printed.append(result.record.jobID)
            }
            let failedUpload = await disk.agent.uploadOutbox()
            if case .failed = failedUpload.stoppedBy {} else {
                Issue.record("the upload should fail while the server is down: \(failedUpload)")
            }
            #expect(failedUpload.remaining == 20)
            #expect(await printers.printers[0].jobs().count == 20)

            // 3. Restart the agent: a new process would read the same state directory.
            await disk.close()
            disk = try await DiskAgent.make(stateDirectory: stateDirectory)
            #expect(try await disk.agent.environment.outbox.depth() == 20)

            // 4. Start the server; the daemon's upload loop retries with back-off until it gets through.
            try await server.start()
            var configuration = disk.configuration
            configuration.uploadInterval = .milliseconds(200)
            configuration.maximumBackoff = .seconds(1)
            configuration.ipAddresses = []
            let service = AgentService(agent: disk.agent, configuration: configuration, logger: testLogger("printplane.agent.test"))
            let group = ServiceGroup(configuration: .init(services: [service], logger: testLogger("printplane.agent.test")))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let deadline = ContinuousClock.now + .seconds(20)
                while try await disk.agent.environment.outbox.depth() > 0, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                // Graceful shutdown of the daemon must not hang.
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }

            // 5. All 20 arrived exactly once.
            let jobs = try await server.admin { try await $0.allJobs() }
            #expect(jobs.count == 20)
            #expect(Set(jobs.map(\.jobID)) == Set(printed))
            #expect(try await disk.agent.environment.outbox.depth() == 0)
            await disk.close()
        }
        await server.stop()
    }

    @Test func printerFaultsAreReportedAsFailedNotPrinted() async throws {
        let server = RestartableServer()
        try await server.start()
        try await withPrinters(count: 2) { printers, endpoints in
            let fleet = try await setUpFleet(server, endpoints: endpoints, driverSize: 1_000)
            let disk = try await DiskAgent.make(caPEM: server.caPEM)
            try await disk.agent.enroll(serverURL: server.url, token: fleet.token, machine: testMachine)
            _ = await disk.agent.checkIn(user: "carol", ipAddresses: [])

            // Offline: the printer refuses connections.
            try await printers.printers[0].setFaults(PrinterFaults(offline: true))
            let offline = try await disk.agent.print(document: try fixture("groff-3pages.ps"), documentName: "a.ps", printerName: fleet.printers[0].name, user: "carol")
            #expect(offline.record.outcome == .failed)
            #expect(offline.failure != nil)

            // Drops mid-job, over RAW and over LPR.
            var big = ByteBuffer()
            big.writeImmutableBuffer(try fixture("groff-3pages.ps"))
            big.writeString(String(repeating: "% padding to make the job larger than the drop point\n", count: 20_000))
            try await printers.printers[0].setFaults(PrinterFaults(dropAfterBytes: 4096))
            try await printers.printers[1].setFaults(PrinterFaults(dropAfterBytes: 4096))
            let droppedRaw = try await disk.agent.print(document: big, documentName: "b.ps", printerName: fleet.printers[0].name, user: "carol")
            let droppedLPR = try await disk.agent.print(document: big, documentName: "c.ps", printerName: fleet.printers[1].name, user: "carol")
            #expect(droppedRaw.record.outcome == .failed, "RAW drop: \(droppedRaw.failure ?? "no failure")")
            #expect(droppedLPR.record.outcome == .failed, "LPR drop: \(droppedLPR.failure ?? "no failure")")

            // Healthy again: printed.
            try await printers.printers[0].setFaults(PrinterFaults())
            let fine = try await disk.agent.print(document: try fixture("groff-3pages.ps"), documentName: "d.ps", printerName: fleet.printers[0].name, user: "carol")
            #expect(fine.record.outcome == .printed)

            // The server is told the truth about each.
            _ = await disk.agent.uploadOutbox()
            let jobs = try await server.admin { try await $0.allJobs() }
            let outcomes = Dictionary(uniqueKeysWithValues: jobs.map { ($0.jobID, $0.outcome) })
            #expect(outcomes[offline.record.jobID] == .failed)
            #expect(outcomes[droppedRaw.record.jobID] == .failed)
            #expect(outcomes[droppedLPR.record.jobID] == .failed)
            #expect(outcomes[fine.record.jobID] == .printed)
            await disk.close()
        }
        await server.stop()
    }

    @Test func enrollingAfterExpiryFailsWithTokenExpired() async throws {
        let server = RestartableServer()
        let now = NIOLockedDate(Date())
        server.clock = { now.value }
        try await server.start()
        let token = try await server.admin { try await $0.createToken(expiresIn: "30m", maxUses: nil, label: nil) }
        now.advance(31 * 60)
        let disk = try await DiskAgent.make(caPEM: server.caPEM)
        do {
            try await disk.agent.enroll(serverURL: server.url, token: token.token ?? "", machine: testMachine)
            Issue.record("an expired token was accepted")
        } catch let error as AgentError {
            #expect(error.reason == "token_expired")
            #expect(error.description.contains("token_expired"))
            #expect(!error.description.contains("\n"))
        }
        #expect(await disk.agent.identity == nil)
        #expect(!FileManager.default.fileExists(atPath: "\(disk.configuration.stateDirectory)/credential.json"))
        await disk.close()
        await server.stop()
    }

    @Test func aRevokedCredentialStopsTheDaemonWithoutHammering() async throws {
        let server = RestartableServer()
        try await server.start()
        let token = try await server.admin { try await $0.createToken(expiresIn: "1h", maxUses: nil, label: nil) }
        let disk = try await DiskAgent.make(caPEM: server.caPEM)
        let identity = try await disk.agent.enroll(serverURL: server.url, token: token.token ?? "", machine: testMachine)
        // Revoke through the admin API, then run the daemon: it stops with credentialRefused.
        try await revokeAgent(server, identity.agentID)
        var configuration = disk.configuration
        configuration.ipAddresses = []
        let service = AgentService(agent: disk.agent, configuration: configuration, logger: testLogger("printplane.agent.test"))
        let started = ContinuousClock.now
        do {
            try await service.run()
            Issue.record("the daemon kept running with a revoked credential")
        } catch let error as AgentError {
            #expect(error.reason == "credential_revoked")
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        await disk.close()
        await server.stop()
    }
}

/// Revokes an agent through the admin API.
func revokeAgent(_ server: RestartableServer, _ id: AgentID) async throws {
    try await server.admin { admin in try await admin.revokeAgent(id: id) }
}

/// A date tests move by hand.
final class NIOLockedDate: Sendable {
    private let box: NIOLockedValueBox<Date>
    init(_ date: Date) { self.box = NIOLockedValueBox(date) }
    var value: Date { self.box.withLockedValue { $0 } }
    func advance(_ seconds: TimeInterval) { self.box.withLockedValue { $0 = $0.addingTimeInterval(seconds) } }
}


@Suite struct AgentPlanTamperingTests {
    /// The cloud itself serves tampered bytes (its blob was altered on disk): the agent
    /// refuses the driver, installs no printer, keeps nothing, and asks again next time.
    @Test func aDriverTamperedAtTheSourceIsNeverInstalled() async throws {
        let server = RestartableServer()
        try await server.start()
        try await withPrinters(count: 1) { _, endpoints in
            let fleet = try await setUpFleet(server, endpoints: endpoints, driverSize: 50_000)
            let sha = fleet.driver.manifest.manifest.sha256
            let blob = try #require(FileManager.default.enumerator(atPath: server.dataDirectory)?.allObjects.compactMap { $0 as? String }.first { $0.hasSuffix(sha) })
            var tampered = Data(fleet.driverBytes.readableBytesView)
            tampered[100] ^= 0x5A
            try tampered.write(to: URL(fileURLWithPath: "\(server.dataDirectory)/\(blob)"))

            let disk = try await DiskAgent.make(caPEM: server.caPEM)
            try await disk.agent.enroll(serverURL: server.url, token: fleet.token, machine: testMachine)
            let outcome = await disk.agent.checkIn(user: "dave", ipAddresses: [])
            if case .partiallyApplied(let changes, _) = outcome {
                #expect(changes.failed.keys.sorted() == [fleet.printers[0].name])
                #expect(changes.installed.isEmpty)
            } else {
                Issue.record("expected a partially applied plan, got \(outcome)")
            }
            #expect(await disk.agent.state.installed.isEmpty)
            #expect(await disk.agent.state.planETag == nil)
            #expect(try FileManager.default.contentsOfDirectory(atPath: disk.configuration.driversDirectory).isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: disk.configuration.queuesDirectory).isEmpty)
            await disk.close()
        }
        await server.stop()
    }
}
