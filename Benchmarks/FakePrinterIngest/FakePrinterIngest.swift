import Benchmark
import FakePrinter
import Foundation
import Logging
import NIOCore
import NIOPosix
import PrintProtocols
import ServiceLifecycle

/// Ingest of one 200 MB RAW (AppSocket) PostScript job into the fake printer, against a
/// plain NIO discard server on the same machine in the same run. Both are timed
/// alternately, best of five each, so machine noise hits both; the figure to read is
/// the ratio (×1000): printer throughput / discard throughput. Target ≥ 800.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .custom("ratio_x1000", polarity: .prefersLarger, useScalingFactor: false),
                  .custom("printer_MBps", polarity: .prefersLarger, useScalingFactor: false),
                  .custom("discard_MBps", polarity: .prefersLarger, useScalingFactor: false)],
        warmupIterations: 0, maxDuration: .seconds(120), maxIterations: 1)

    for keepBytes in [false, true] {
        let label = keepBytes ? "storing bytes to disk" : "metadata only"
        Benchmark("RAW ingest 200 MB, counting pages, \(label), vs NIO discard") { benchmark in
            do {
                let result = try await IngestRun.measure(keepBytes: keepBytes)
                benchmark.measurement(.custom("ratio_x1000", polarity: .prefersLarger, useScalingFactor: false), Int(result.ratio * 1000))
                benchmark.measurement(.custom("printer_MBps", polarity: .prefersLarger, useScalingFactor: false), Int(result.printerMBps))
                benchmark.measurement(.custom("discard_MBps", polarity: .prefersLarger, useScalingFactor: false), Int(result.discardMBps))
                print("ingest (\(label)): printer \(Int(result.printerMBps)) MB/s, discard \(Int(result.discardMBps)) MB/s, ratio \(String(format: "%.2f", result.ratio)), pages counted \(result.pages)")
            } catch {
                fatalError("ingest benchmark failed: \(error)")
            }
        }
    }
}

enum IngestRun {
    static let size = 200 << 20

    /// A DSC PostScript document of about `size` bytes: ~200 kB pages of drawing operators.
    static func document() -> (ByteBuffer, pages: Int) {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(size + 4096)
        buffer.writeString("%!PS-Adobe-3.0\n%%Pages: (atend)\n%%EndComments\n")
        var body = ""
        for line in 0..<2800 { body += "\(line % 500) \(line % 700) moveto \(line % 300) 0 rlineto stroke\n" }
        var pages = 0
        while buffer.readableBytes < size {
            pages += 1
            buffer.writeString("%%Page: \(pages) \(pages)\n")
            buffer.writeString(body)
            buffer.writeString("showpage\n")
        }
        buffer.writeString("%%Trailer\n%%Pages: \(pages)\n%%EOF\n")
        return (buffer, pages)
    }

    struct Result {
        var printerMBps: Double
        var discardMBps: Double
        var ratio: Double { printerMBps / discardMBps }
        var pages: Int
    }

    static func measure(keepBytes: Bool) async throws -> Result {
        let (document, expectedPages) = document()
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("printplane-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: spool) }
        var logger = Logger(label: "printplane.bench")
        logger.logLevel = .error
        let configuration = FakePrinterConfiguration(
            host: "127.0.0.1", rawPort: 0, lpdPort: 0, httpPort: nil, spoolDirectory: spool, keepDocumentBytes: keepBytes)
        let service = try FakePrinterService(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        let discard = try await DiscardServer.start()
        // The sender gets its own event loop, as a host on the network would: on the shared
        // singleton group its channel could land on the server's loop thread, which then
        // alternates writing and reading (about a third of the throughput, at random).
        let sender = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let result = try await alternate(service: service, group: group, discard: discard, sender: sender, document: document, pages: expectedPages)
            try await sender.shutdownGracefully()
            return result
        } catch {
            try? await sender.shutdownGracefully()
            throw error
        }
    }

    /// Five rounds of discard then printer, each a fresh connection from `sender`.
    static func alternate(
        service: FakePrinterService, group: ServiceGroup, discard: DiscardServer, sender: any EventLoopGroup,
        document: ByteBuffer, pages expectedPages: Int
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask { await discard.run() }
            let printerPort = try await service.endpoints().printers[0].rawPort
            var printerBest = Duration.seconds(1_000)
            var discardBest = Duration.seconds(1_000)
            for _ in 0..<5 {
                discardBest = min(discardBest, try await time { _ = try await PrintClient.sendRaw(host: "127.0.0.1", port: discard.port, document: document, timeout: .seconds(60), eventLoopGroup: sender) })
                printerBest = min(printerBest, try await time { _ = try await PrintClient.sendRaw(host: "127.0.0.1", port: printerPort, document: document, timeout: .seconds(60), eventLoopGroup: sender) })
            }
            let jobs = await service.printers[0].jobs()
            let sent = UInt64(document.readableBytes)
            guard jobs.count == 5, jobs.allSatisfy({ $0.pages == expectedPages && $0.bytes == sent }) else {
                throw IngestCheckFailed(detail: "expected 5 jobs of \(sent) bytes and \(expectedPages) pages, got \(jobs.map { ($0.bytes, $0.pages as Int?) })")
            }
            await group.triggerGracefulShutdown()
            discard.close()
            try await tasks.waitForAll()
            func mbps(_ duration: Duration) -> Double {
                let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
                return Double(document.readableBytes) / 1_048_576 / seconds
            }
            return Result(printerMBps: mbps(printerBest), discardMBps: mbps(discardBest), pages: expectedPages)
        }
    }

    static func time(_ body: () async throws -> Void) async throws -> Duration {
        let start = ContinuousClock.now
        try await body()
        return ContinuousClock.now - start
    }
}

struct IngestCheckFailed: Error {
    var detail: String
}

/// The reference: accepts, reads to end of file and throws the bytes away, then closes,
/// through the same NIOAsyncChannel path the fake printer uses.
final class DiscardServer: Sendable {
    let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    let port: Int

    private init(server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>) {
        self.server = server
        self.port = server.channel.localAddress!.port!
    }

    static func start() async throws -> DiscardServer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return DiscardServer(server: server)
    }

    func run() async {
        try? await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask {
                        try? await connection.executeThenClose { inbound, _ in
                            for try await _ in inbound {}
                        }
                    }
                }
            }
        }
    }

    func close() {
        server.channel.close(promise: nil)
    }
}
