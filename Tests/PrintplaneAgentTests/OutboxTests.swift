import Foundation
import NIOCore
import PrintplaneCore
import Testing

@testable import PrintplaneAgent

@Suite struct OutboxTests {
    func record(_ id: String) -> JobRecord {
        JobRecord(
            jobID: JobID(id), user: "alice", computer: "ws", printer: "P1", documentName: "d", pages: 1, copies: 1, color: false,
            duplex: false, bytes: 10, protocol: .raw, submittedAt: Date(timeIntervalSince1970: 1_800_000_000),
            completedAt: Date(timeIntervalSince1970: 1_800_000_001), outcome: .printed)
    }

    @Test func recordsSurviveReopeningAndLeaveOnlyWhenAcknowledged() async throws {
        let directory = makeTemporaryDirectory()
        let path = "\(directory)/outbox.sqlite"
        do {
            let outbox = try SQLiteAgentDatabase(path: path, spoolDirectory: "\(directory)/spool")
            for index in 0..<5 { try await outbox.append(self.record("job-\(index)")) }
            try await outbox.append(self.record("job-0"))  // a repeat is not a second record
            #expect(try await outbox.depth() == 5)
        }
        // A new process opens the same file.
        let reopened = try SQLiteAgentDatabase(path: path, spoolDirectory: "\(directory)/spool")
        #expect(try await reopened.pending(limit: 10).map(\.jobID.rawValue) == (0..<5).map { "job-\($0)" })
        try await reopened.acknowledge([JobID("job-1"), JobID("job-3")])
        try await reopened.park([(JobID("job-4"), "invalid_record: pages")])
        #expect(try await reopened.pending(limit: 10).map(\.jobID.rawValue) == ["job-0", "job-2"])
        #expect(try await reopened.parkedCount() == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
    }

    @Test func heldJobsKeepTheirDocumentAndRegistrationUntilFinished() async throws {
        let directory = makeTemporaryDirectory()
        let path = "\(directory)/outbox.sqlite"
        let heldAt = Date(timeIntervalSince1970: 1_800_000_000)
        let job = HeldJob(record: self.record("held-1"), printerName: "P1", language: .postScript, heldAt: heldAt, expiresAt: heldAt.addingTimeInterval(3600))
        do {
            let spool = try SQLiteAgentDatabase(path: path, spoolDirectory: "\(directory)/spool")
            try await spool.hold(job, document: ByteBuffer(string: "%!PS\nshowpage\n"))
            try await spool.hold(job, document: ByteBuffer(string: "%!PS\nshowpage\n"))  // a repeat is one job, one registration
        }
        // A new process (the daemon) opens the same file: the job and its registration are there.
        let spool = try SQLiteAgentDatabase(path: path, spoolDirectory: "\(directory)/spool")
        #expect(try await spool.heldJobs().map(\.record.jobID) == [JobID("held-1")])
        #expect(try await spool.pendingRegistrations(limit: 10) == [job.registration])
        let held = try #require(try await spool.document(JobID("held-1")))
        #expect(held.bytes.map { String(buffer: $0) } == "%!PS\nshowpage\n")
        #expect(try await spool.heldJobs().count == 1, "reading a document leaves it in the spool")

        // The server acknowledged it and keeps it for less: the spool follows.
        let shorter = heldAt.addingTimeInterval(600)
        try await spool.acknowledgeRegistrations([JobID("held-1")], expiries: [JobID("held-1"): shorter, JobID("unknown"): shorter])
        #expect(try await spool.pendingRegistrations(limit: 10).isEmpty)
        #expect(try await spool.heldJobs().first?.expiresAt == shorter)

        // Finishing moves its record to the outbox and deletes the document, together.
        let cancelled = job.record(outcome: .cancelled, at: heldAt.addingTimeInterval(60))
        try await spool.finish(JobID("held-1"), record: cancelled)
        #expect(try await spool.heldJobs().isEmpty)
        #expect(try await spool.document(JobID("held-1")) == nil)
        #expect(try await spool.pending(limit: 10) == [cancelled])
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(directory)/spool").isEmpty)
        // A second record for the same job (a release that arrived late) does not replace the first.
        try await spool.append(job.registration.record(outcome: .failed, completedAt: heldAt.addingTimeInterval(90), failure: "document_missing"))
        #expect(try await spool.pending(limit: 10) == [cancelled])
    }

    @Test func theLoginSocketWakesTheDaemonAndRefusesGarbage() async throws {
        let directory = makeTemporaryDirectory()
        let signal = LoginSignal()
        let listener = LoginListener(path: "\(directory)/agent.sock", signal: signal, logger: testLogger("printplane.agent.test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            while !FileManager.default.fileExists(atPath: listener.path) { try await Task.sleep(for: .milliseconds(10)) }
            try await LoginListener.notify(path: listener.path, user: "erin")
            #expect(await signal.next(timeout: .seconds(5)) == "erin")
            // Nothing pending: the wait times out.
            #expect(await signal.next(timeout: .milliseconds(50)) == nil)
            group.cancelAll()
        }
        #expect(LoginListener.parse("login bob\n") == .success("bob"))
        #expect(LoginListener.parse("logout bob\n") == .failure(ProblemText("unknown command; expected `login USER`")))
        #expect(LoginListener.parse("login \u{7}\n") == .failure(ProblemText("a user name is 1 to 256 printable characters")))
        await #expect(throws: AgentError.self) { try await LoginListener.notify(path: "\(directory)/nobody.sock", user: "x") }
    }

    @Test func queueFileNamesCannotEscapeTheDirectory() {
        #expect(QueueDefinitionInstaller.fileName(for: "../../etc/passwd") == "_._.._etc_passwd.json")
        #expect(QueueDefinitionInstaller.fileName(for: "Floor 2 / East") == "Floor_2___East.json")
    }
}
