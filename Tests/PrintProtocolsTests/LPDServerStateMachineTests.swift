import NIOCore
import Testing

@testable import PrintProtocols

@Suite("LPD server state machine and control files (RFC 1179 §6, §7)")
struct LPDServerStateMachineTests {
    private let control = "Hws\nPalice\nJreport\nCstaff\nLalice\nldfA001ws\nldfA001ws\nodfB001ws\nUdfA001ws\nNreport.ps\nZunknown-extension\n"

    @Test("control files: every line a printer acts on, copies from repeated print lines")
    func controlFile() throws {
        let parsed = try LPDControlFile(parsing: Array(control.utf8))
        #expect(parsed.host == "ws")
        #expect(parsed.user == "alice")
        #expect(parsed.jobName == "report")
        #expect(parsed.class == "staff")
        #expect(parsed.bannerUser == "alice")
        #expect(parsed.sourceFileName == "report.ps")
        #expect(parsed.unlink == ["dfA001ws"])
        #expect(parsed.dataFiles == ["dfA001ws", "dfB001ws"])
        #expect(parsed.copies(of: "dfA001ws") == 2)
        #expect(parsed.copies(of: "dfB001ws") == 1)
        #expect(try LPDControlFile(parsing: Array(parsed.encoded.utf8)) == parsed)
    }

    @Test("bad control files are refused", arguments: ["Hws\nPalice\n", "Hws\nl\n", "Hws\nl../etc/passwd\n", "Hws\u{01}\nldfA\n"])
    func badControlFiles(text: String) {
        #expect(throws: LPDProtocolError.self) { try LPDControlFile(parsing: Array(text.utf8)) }
        #expect(throws: LPDProtocolError.self) { try LPDControlFile(parsing: [0xFF, 0xFE, 0x0A]) }
    }

    @Test("data before control: the job completes once both are in, and is recorded before the last acknowledgement")
    func dataThenControl() {
        var machine = LPDServerStateMachine()
        #expect(machine.receive(.command(.receiveJob(queue: "lp"))) == [.acknowledge])
        #expect(machine.receive(.command(.receiveDataFile(count: 3, name: "dfA001ws"))) == [.acknowledge, .beginDataFile(name: "dfA001ws", announcedBytes: 3)])
        #expect(machine.receive(.fileData(ByteBuffer(string: "abc"))) == [.dataFileBytes(name: "dfA001ws", ByteBuffer(string: "abc"))])
        #expect(machine.receive(.fileEnd) == [.endDataFile(name: "dfA001ws"), .acknowledge])
        let text = "Hws\nPalice\nldfA001ws\n"
        #expect(machine.receive(.command(.receiveControlFile(count: UInt64(text.utf8.count), name: "cfA001ws"))) == [.acknowledge])
        #expect(machine.receive(.fileData(ByteBuffer(string: text))) == [])
        let actions = machine.receive(.fileEnd)
        guard case .jobComplete(let queue, let name, let control) = actions.first else {
            Issue.record("expected jobComplete first, got \(actions)")
            return
        }
        #expect(queue == "lp")
        #expect(name == "cfA001ws")
        #expect(control.user == "alice")
        #expect(actions.last == .acknowledge)
        #expect(machine.connectionClosed() == [])
    }

    @Test("abort and an early close discard the data files no job claimed")
    func abortAndClose() {
        var machine = LPDServerStateMachine()
        _ = machine.receive(.command(.receiveJob(queue: "lp")))
        _ = machine.receive(.command(.receiveDataFile(count: 1, name: "dfA001ws")))
        _ = machine.receive(.fileData(ByteBuffer(string: "a")))
        _ = machine.receive(.fileEnd)
        #expect(machine.receive(.command(.abortJob)) == [.discardDataFiles(["dfA001ws"]), .acknowledge])
        _ = machine.receive(.command(.receiveDataFile(count: 1, name: "dfA002ws")))
        #expect(machine.connectionClosed() == [.discardDataFiles(["dfA002ws"])])
    }

    @Test("oversized data files, unusable names and misplaced commands get a negative acknowledgement")
    func refusals() {
        var big = LPDServerStateMachine(maximumDataFileBytes: 10)
        _ = big.receive(.command(.receiveJob(queue: "lp")))
        #expect(big.receive(.command(.receiveDataFile(count: 11, name: "dfA"))).first.map { if case .reject = $0 { true } else { false } } == true)

        var badName = LPDServerStateMachine()
        _ = badName.receive(.command(.receiveJob(queue: "lp")))
        #expect(badName.receive(.command(.receiveDataFile(count: 1, name: "../x"))).first.map { if case .reject = $0 { true } else { false } } == true)

        var misplaced = LPDServerStateMachine()
        #expect(misplaced.receive(.command(.abortJob)).first.map { if case .reject = $0 { true } else { false } } == true)

        var jammed = LPDServerStateMachine()
        #expect(jammed.receive(.command(.receiveJob(queue: "lp")), acceptingJobs: false) == [.reject(reason: "printer is not accepting jobs"), .close])
    }
}
