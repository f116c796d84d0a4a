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

    @Test func heldJobsKeepTheirDocumentUntilTaken() async throws {
        let directory = makeTemporaryDirectory()
        let spool = try SQLiteAgentDatabase(path: "\(directory)/outbox.sqlite", spoolDirectory: "\(directory)/spool")
        let job = HeldJob(record: self.record("held-1"), printerName: "P1", language: .postScript, heldAt: Date(), expiresAt: Date().addingTimeInterval(3600))
        try await spool.hold(job, document: ByteBuffer(string: "%!PS\nshowpage\n"))
        #expect(try await spool.heldJobs().map(\.record.jobID) == [JobID("held-1")])
        let taken = try #require(try await spool.take(JobID("held-1")))
        #expect(String(buffer: taken.1) == "%!PS\nshowpage\n")
        #expect(try await spool.heldJobs().isEmpty)
        #expect(try await spool.take(JobID("held-1")) == nil)
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
