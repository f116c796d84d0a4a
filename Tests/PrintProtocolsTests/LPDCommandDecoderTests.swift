import NIOCore
import NIOTestUtils
import Testing

@testable import PrintProtocols

@Suite("LPD command decoder (RFC 1179 framing)")
struct LPDCommandDecoderTests {
    private func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }
    private func buffer(_ string: String) -> ByteBuffer { ByteBuffer(string: string) }

    @Test("daemon commands decode, fed whole, batched and byte by byte", arguments: [
        ("\u{01}lp\n", LPDCommand.printWaitingJobs(queue: "lp")),
        ("\u{03}lp\n", LPDCommand.sendQueueState(queue: "lp", list: [], long: false)),
        ("\u{04}raw alice 12\n", LPDCommand.sendQueueState(queue: "raw", list: ["alice", "12"], long: true)),
        ("\u{05}lp root 7 bob\n", LPDCommand.removeJobs(queue: "lp", agent: "root", list: ["7", "bob"])),
        ("\u{03}lp\t a \n", LPDCommand.sendQueueState(queue: "lp", list: ["a"], long: false)),
    ])
    func daemonCommands(input: String, expected: LPDCommand) throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(buffer(input), [.command(expected)])],
            decoderFactory: { LPDCommandDecoder() }
        )
    }

    @Test("receive-job subcommands: control file, then data, repeatable on one connection")
    func receiveJobControlFirst() throws {
        let control = "Hhost\nPalice\nJreport\nldfA001host\nUdfA001host\nNreport.ps\n"
        let data = "%!PS\nshowpage\n"
        var input = buffer("\u{02}\(control.utf8.count) cfA001host\n")
        input.writeString(control)
        input.writeInteger(UInt8(0))
        input.writeString("\u{03}\(data.utf8.count) dfA001host\n")
        input.writeString(data)
        input.writeInteger(UInt8(0))
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(input, [
                .command(.receiveControlFile(count: UInt64(control.utf8.count), name: "cfA001host")),
                .fileData(buffer(control)),
                .fileEnd,
                .command(.receiveDataFile(count: UInt64(data.utf8.count), name: "dfA001host")),
                .fileData(buffer(data)),
                .fileEnd,
            ])],
            decoderFactory: { LPDCommandDecoder(startingIn: .receivingJob) }
        )
    }

    @Test("file contents come out in fixed-size pieces whatever the TCP split")
    func chunking() throws {
        let data = String(repeating: "x", count: 10)
        var input = buffer("\u{03}10 dfA001h\n")
        input.writeString(data)
        input.writeInteger(UInt8(0))
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(input, [
                .command(.receiveDataFile(count: 10, name: "dfA001h")),
                .fileData(buffer("xxxx")), .fileData(buffer("xxxx")), .fileData(buffer("xx")),
                .fileEnd,
            ])],
            decoderFactory: { LPDCommandDecoder(limits: .init(chunkSize: 4), startingIn: .receivingJob) }
        )
    }

    @Test("a count of 0 and CUPS' huge stream-mode count both read to end of stream", arguments: ["0", "999999999999"])
    func streamedDataFile(count: String) throws {
        var decoder = LPDCommandDecoder(limits: .init(chunkSize: 4))
        var input = buffer("\u{02}lp\n\u{03}\(count) dfA001h\nabcdefghij")
        var out: [LPDInbound] = []
        while let message = try decoder.next(&input, atEOF: false) { out.append(message) }
        while let message = try decoder.next(&input, atEOF: true) { out.append(message) }
        #expect(out == [
            .command(.receiveJob(queue: "lp")),
            .command(.receiveDataFile(count: nil, name: "dfA001h")),
            .fileData(buffer("abcd")), .fileData(buffer("efgh")), .fileData(buffer("ij")),
            .fileEnd,
        ])
    }

    static let malformedCases: [(bytes: [UInt8], label: String)] = [
        ([0x09] + Array("lp\n".utf8), "unknown command"),
        (Array("\u{02}lp\n\u{02}abc cfA\n".utf8), "non-numeric count"),
        (Array("\u{02}lp\n\u{02}99999999999999999999999 cfA\n".utf8), "count overflow"),
        (Array("\u{02}lp\n\u{02}1000000 cfA\n".utf8), "oversized control file"),
        (Array("\u{02}lp\n\u{02}0 cfA\n".utf8), "empty control file"),
        (Array("\u{02}lp\n\u{03}3 dfA\nabcX".utf8), "missing NUL terminator"),
        (Array("\u{02}lp\n\u{03}3\n".utf8), "missing name"),
        (Array("\u{02}lp\n\u{07}x\n".utf8), "unknown subcommand"),
        (Array("\n".utf8), "empty line"),
        ([0x02, 0x6C, 0x70, 0x01, 0x0A], "control character in operand"),
        (Array("\u{05}lp\n".utf8), "remove without agent"),
    ]

    @Test("a complete file followed by end of stream instead of its NUL is complete (CUPS mode=stream)")
    func closeInsteadOfTerminator() throws {
        var decoder = LPDCommandDecoder()
        var input = buffer("\u{02}lp\n\u{03}3 dfA001h\nabc")
        var out: [LPDInbound] = []
        while let message = try decoder.next(&input, atEOF: false) { out.append(message) }
        while let message = try decoder.next(&input, atEOF: true) { out.append(message) }
        #expect(out == [.command(.receiveJob(queue: "lp")), .command(.receiveDataFile(count: 3, name: "dfA001h")), .fileData(buffer("abc")), .fileEnd])
    }

    @Test("malformed input is an error, never a crash or a hang", arguments: malformedCases)
    func malformed(bytes: [UInt8], label: String) {
        var decoder = LPDCommandDecoder()
        var input = ByteBuffer(bytes: bytes)
        #expect(throws: LPDProtocolError.self, "\(label)") {
            while try decoder.next(&input, atEOF: false) != nil {}
        }
    }

    @Test("an endless line is refused at the limit, not buffered")
    func endlessLine() {
        var decoder = LPDCommandDecoder(limits: .init(maximumLineLength: 64))
        var input = ByteBuffer(repeating: UInt8(ascii: "a"), count: 65)
        #expect(throws: LPDProtocolError.lineTooLong(64)) {
            _ = try decoder.next(&input, atEOF: false)
        }
    }

    @Test("a connection closed mid-file is reported as truncated")
    func truncatedFile() throws {
        var decoder = LPDCommandDecoder()
        var input = buffer("\u{02}lp\n\u{03}100 dfA001h\nabc")
        var outputs = 0
        #expect(throws: LPDProtocolError.self) {
            while try decoder.next(&input, atEOF: false) != nil { outputs += 1 }
            while try decoder.next(&input, atEOF: true) != nil { outputs += 1 }
        }
        #expect(outputs == 2)
    }

    @Test("commands encode to exactly the bytes the decoder reads back", arguments: [
        LPDCommand.receiveJob(queue: "lp"), .printWaitingJobs(queue: "q"),
        .sendQueueState(queue: "q", list: ["a", "b"], long: true), .removeJobs(queue: "q", agent: "root", list: ["1"]),
    ])
    func roundTrip(command: LPDCommand) throws {
        var decoder = LPDCommandDecoder()
        var bytes = command.encoded
        #expect(try decoder.next(&bytes, atEOF: false) == .command(command))
    }
}
