import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import FakePrinter
@testable import PrintProtocols

@Suite("RAW job scanner: jobs split, counted and faulted on the event loop")
struct RawJobScannerTests {
    /// A scanner in an embedded channel, for a printer with `faults` that keeps no bytes
    /// unless told to.
    private func withScanner<T>(
        faults: PrinterFaults = PrinterFaults(), keepBytes: Bool = false,
        _ body: (EmbeddedChannel) throws -> T
    ) async throws -> T {
        try await withTemporaryDirectory { spool in
            let configuration = FakePrinterConfiguration(
                rawPort: 0, lpdPort: 0, httpPort: nil, spoolDirectory: spool, initialFaults: faults, keepDocumentBytes: keepBytes)
            let printer = try VirtualPrinter(index: 0, address: "127.0.0.1", configuration: configuration, logger: Logger(label: "test"))
            let channel = EmbeddedChannel(handler: RawJobScanner(printer: printer))
            defer { _ = try? channel.finish() }
            return try body(channel)
        }
    }

    private func readEvents(_ channel: EmbeddedChannel) throws -> [RawEvent] {
        var events: [RawEvent] = []
        while let event = try channel.readInbound(as: RawEvent.self) { events.append(event) }
        return events
    }

    /// Every event; each `jobStarted` is answered at once, as the connection's task does.
    private func run(_ channel: EmbeddedChannel, _ chunks: [ByteBuffer]) throws -> [RawEvent] {
        var events: [RawEvent] = []
        func collect() throws {
            while true {
                let new = try readEvents(channel)
                if new.isEmpty { return }
                events += new
                for case .jobStarted in new { channel.pipeline.triggerUserOutboundEvent(RawJobScanner.JobAccepted(), promise: nil) }
            }
        }
        for chunk in chunks {
            try channel.writeInbound(chunk)
            try collect()
        }
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        try collect()
        return events
    }

    private func pieces(_ stream: ByteBuffer, of size: Int) -> [ByteBuffer] {
        var stream = stream
        var chunks: [ByteBuffer] = []
        while stream.readableBytes > 0 { chunks.append(stream.readSlice(length: min(size, stream.readableBytes))!) }
        return chunks
    }

    @Test("two PJL-wrapped jobs in 7-byte reads: each counted, with its bytes, and the stored bytes exactly as sent")
    func twoJobsInSmallReads() async throws {
        let sent = pjlJobs([("first", 2), ("second", 3)])
        try await withScanner(keepBytes: true) { channel in
            var names: [String?] = []
            var counts: [PageCount] = []
            var byteCounts: [UInt64] = []
            var stored = ByteBuffer()
            for event in try run(channel, pieces(sent, of: 7)) {
                switch event {
                case .jobStarted(let name): names.append(name)
                case .jobEnded(let count, let bytes):
                    counts.append(count)
                    byteCounts.append(bytes)
                case .jobData(var bytes): stored.writeBuffer(&bytes)
                case .command: break
                case .jobCut, .jobInterrupted: Issue.record("unexpected \(event)")
                }
            }
            #expect(names == ["first", "second"])
            #expect(counts.map(\.pages) == [2, 3])
            #expect(counts.map(\.language) == [.postScript, .postScript])
            // Every byte but the trailing UEL (outside any job) belongs to a job.
            #expect(stored.readableBytes == sent.readableBytes - PJL.universalExitLanguage.count)
            #expect(byteCounts.reduce(0, +) == UInt64(stored.readableBytes))
        }
    }

    @Test("metadata only: no job bytes cross to the task, the counts still do")
    func metadataOnly() async throws {
        try await withScanner(keepBytes: false) { channel in
            let events = try run(channel, pieces(pjlJobs([("a", 5)]), of: 1000))
            #expect(!events.contains { if case .jobData = $0 { true } else { false } })
            #expect(events.contains { if case .jobEnded(let count, _) = $0 { count.pages == 5 } else { false } })
        }
    }

    @Test("after jobStarted nothing more is read or passed on until the task accepts the job")
    func waitsForTheJobToBeAccepted() async throws {
        try await withScanner { channel in
            let chunks = pieces(pjlJobs([("held", 1)]), of: 16)
            try channel.writeInbound(chunks[0])
            try channel.writeInbound(chunks[1])
            var events = try readEvents(channel)
            #expect(events.count == 1)
            guard case .jobStarted(let name) = events.first else {
                Issue.record("expected jobStarted, got \(events)")
                return
            }
            #expect(name == "held")
            // A read asked for now is held back.
            channel.pipeline.read()
            try channel.writeInbound(chunks[2])
            #expect(try readEvents(channel).isEmpty)
            channel.pipeline.triggerUserOutboundEvent(RawJobScanner.JobAccepted(), promise: nil)
            events = try run(channel, Array(chunks.dropFirst(3)))
            #expect(events.contains { if case .jobEnded(let count, _) = $0 { count.pages == 1 } else { false } })
        }
    }

    @Test("end of file ends an open job, and its count and bytes arrive")
    func endOfFileEndsTheJob() async throws {
        try await withScanner { channel in
            let events = try run(channel, [postScript(pages: 4)])
            guard case .jobEnded(let count, let bytes) = events.last else {
                Issue.record("last event was \(String(describing: events.last))")
                return
            }
            #expect(count.pages == 4)
            #expect(bytes == UInt64(postScript(pages: 4).readableBytes))
        }
    }

    @Test("the drop fault cuts the job at its byte limit, and nothing after is read")
    func dropCutsAtTheLimit() async throws {
        try await withScanner(faults: PrinterFaults(dropAfterBytes: 100)) { channel in
            let events = try run(channel, pieces(ByteBuffer(repeating: 0x41, count: 10_000), of: 64))
            guard case .jobCut(let cut, let bytes) = events.last else {
                Issue.record("last event was \(String(describing: events.last))")
                return
            }
            #expect(cut.state == .dropped)
            #expect(bytes == 100)
        }
    }

    @Test("a connection that closes mid-job reports the bytes that arrived")
    func closingMidJobInterrupts() async throws {
        try await withScanner { channel in
            try channel.writeInbound(ByteBuffer(repeating: 0x41, count: 300))
            channel.pipeline.triggerUserOutboundEvent(RawJobScanner.JobAccepted(), promise: nil)
            try channel.writeInbound(ByteBuffer(repeating: 0x41, count: 200))
            _ = try? channel.close().wait()
            let events = try readEvents(channel)
            guard case .jobInterrupted(let bytes) = events.last else {
                Issue.record("last event was \(String(describing: events.last))")
                return
            }
            #expect(bytes == 500)
        }
    }

    @Test("status queries outside a job reach the task as commands, and start no job")
    func queriesAreCommands() async throws {
        var query = ByteBuffer(bytes: PJL.universalExitLanguage)
        query.writeString("@PJL INFO STATUS\r\n@PJL INFO PAGECOUNT\r\n")
        query.writeBytes(PJL.universalExitLanguage)
        try await withScanner { channel in
            let verbs = try run(channel, [query]).map { event -> String in
                if case .command(let command) = event { return "\(command.verb) \(command.arguments.joined(separator: " "))" }
                return "\(event)"
            }
            #expect(verbs == ["INFO STATUS", "INFO PAGECOUNT"])
        }
    }
}
