import NIOCore
import Testing

@testable import PrintProtocols

@Suite("AppSocket job splitting and PJL parsing")
struct AppSocketStateMachineTests {
    struct Summary: Equatable {
        var jobs: [[UInt8]] = []
        var names: [String?] = []
        var commands: [String] = []
    }

    /// Runs the stream through the state machine in the given pieces.
    static func run(_ pieces: [[UInt8]]) -> Summary {
        var machine = AppSocketStateMachine()
        var actions: [AppSocketStateMachine.Action] = []
        for piece in pieces { machine.consume(ByteBuffer(bytes: piece), into: &actions) }
        machine.finish(into: &actions)
        var summary = Summary()
        var open = false
        for action in actions {
            switch action {
            case .jobStarted(let name):
                #expect(!open, "jobs never nest")
                open = true
                summary.jobs.append([])
                summary.names.append(name)
            case .jobData(let bytes):
                #expect(open, "job data only inside a job")
                summary.jobs[summary.jobs.count - 1] += bytes.readableBytesView
            case .jobEnded:
                #expect(open)
                open = false
            case .command(let command):
                summary.commands.append(([command.verb] + command.arguments).joined(separator: " "))
            }
        }
        #expect(!open, "finish ends every job")
        return summary
    }

    static let uel = "\u{1B}%-12345X"
    static let streams: [(String, String)] = [
        ("plain PostScript", "%!PS\n%%Page: 1 1\nshowpage\n"),
        ("PJL-wrapped with JOB/EOJ", uel + "@PJL JOB NAME=\"a b\"\r\n@PJL SET COPIES=2\r\n@PJL ENTER LANGUAGE=PCL\r\n\u{1B}E page\u{0C}" + uel + "@PJL EOJ\r\n" + uel),
        ("queries only", uel + "@PJL INFO STATUS\r\n@PJL ECHO x\r\n" + uel),
        ("two jobs split by UEL", uel + "@PJL ENTER LANGUAGE=POSTSCRIPT\n%!PS one\n" + uel + "@PJL ENTER LANGUAGE=POSTSCRIPT\n%!PS two\n" + uel),
        ("implicit language switch", "@PJL SET RESOLUTION=600\n%!PS\nshowpage\n"),
        ("ESC bytes that are not UEL", "\u{1B}E\u{1B}%-1234\u{1B}&l2X data\u{1B}%-12345"),
    ]

    @Test("splitting never depends on how TCP cut the stream", arguments: streams)
    func chunkingInvariance(label: String, stream: String) {
        let bytes = Array(stream.utf8)
        let whole = Self.run([bytes])
        for cut in 0...bytes.count {
            #expect(Self.run([Array(bytes[..<cut]), Array(bytes[cut...])]) == whole, "\(label), cut at \(cut)")
        }
        #expect(Self.run(bytes.map { [$0] }) == whole, "\(label), byte by byte")
    }

    @Test("job boundaries follow HP's rules")
    func boundaries() {
        let wrapped = Self.run([Array(Self.streams[1].1.utf8)])
        #expect(wrapped.jobs.count == 1)
        #expect(wrapped.names == ["a b"])
        #expect(wrapped.commands == ["JOB", "SET", "ENTER", "EOJ"])
        #expect(Self.run([Array(Self.streams[2].1.utf8)]).jobs.isEmpty, "status queries are not jobs")
        #expect(Self.run([Array(Self.streams[3].1.utf8)]).jobs.count == 2)
        let raw = Array(Self.streams[0].1.utf8)
        #expect(Self.run([raw]).jobs == [raw], "a plain job passes through byte for byte")
    }

    @Test("an endless line that looks like PJL is treated as data, not buffered forever")
    func endlessPJLLine() {
        let line = Array(("@PJL SET X=" + String(repeating: "y", count: 10_000)).utf8)
        let summary = Self.run([line])
        #expect(summary.jobs.count == 1)
        #expect(summary.jobs[0] == line)
    }

    @Test("PJL command lines parse case-insensitively, with quoted values and spacing", arguments: [
        ("@PJL INFO STATUS", "INFO", ["STATUS"], [:]),
        ("@pjl info id", "INFO", ["ID"], [:]),
        ("@PJL JOB NAME = \"Quarterly = report\" START=2", "JOB", [], ["NAME": "Quarterly = report", "START": "2"]),
        ("@PJL SET DUPLEX=ON", "SET", [], ["DUPLEX": "ON"]),
        ("@PJL USTATUS JOB = ON", "USTATUS", [], ["JOB": "ON"]),
        ("@PJL", "", [], [:]),
        ("  @PJL ENTER LANGUAGE=PDF\r", "ENTER", [], ["LANGUAGE": "PDF"]),
    ] as [(String, String, [String], [String: String])])
    func pjlCommands(line: String, verb: String, arguments: [String], options: [String: String]) throws {
        let command = try #require(PJLCommand(line: line))
        #expect(command.verb == verb)
        #expect(command.arguments == arguments)
        #expect(command.options == options)
    }

    @Test("lines that are not PJL are rejected", arguments: ["%!PS", "@PJLX INFO", "", "PJL INFO"])
    func notPJL(line: String) {
        #expect(PJLCommand(line: line) == nil)
    }
}
