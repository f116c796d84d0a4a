import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Sim
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Shared pieces of the capture and topology tests: the root check, real TCP/TLS servers
/// and clients bound to chosen 127.x addresses, and the built `printplane` binary.
enum PcapTestSupport {
    /// Fails (never skips) the test unless it runs as root, as CI does.
    static func requireRoot() throws {
        guard geteuid() == 0 else {
            Issue.record("this test captures packets / creates network namespaces and needs root (CAP_NET_RAW, CAP_NET_ADMIN); CI runs as root: sudo swift test --filter Pcap")
            throw CancellationError()
        }
    }

    /// The `printplane` executable next to the test bundle (`swift build --build-tests` builds both).
    static func printplaneBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["PRINTPLANE_BIN"] { return path }
        let candidate = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("printplane").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            Issue.record("\(candidate) is missing: run `swift build --build-tests` first (or set PRINTPLANE_BIN)")
            throw CancellationError()
        }
        return candidate
    }

    /// A listener on `host`, port 0: echoes (through TLS when `tls` is set) or, without an echo,
    /// swallows everything and closes when the client half-closes, like a RAW 9100 printer.
    static func listen(host: String, tls: NIOSSLContext? = nil, echo: Bool) async throws -> (channel: any Channel, port: Int) {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(TestServerHandler(echo: echo))
                }
            }
            .bind(host: host, port: 0).get()
        return (channel, channel.localAddress!.port!)
    }

    /// A TLS server context with a throwaway certificate.
    static func serverTLS() throws -> NIOSSLContext {
        let authority = try SimulatedADCertificateAuthority(hostnames: ["pcap.test"])
        return try NIOSSLContext(configuration: try authority.serverTLSConfiguration())
    }

    /// Connects from `source` to `host:port`, sends `bytes`, half-closes (unless TLS, which
    /// closes after the echo) and reads until the peer closes or `expect` bytes came back.
    @discardableResult
    static func exchange(from source: String, to host: String, port: Int, tls: Bool, send bytes: [UInt8], expect: Int? = nil) async throws -> [UInt8] {
        let clientTLS: NIOSSLContext? = tls ? try {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return try NIOSSLContext(configuration: configuration)
        }() : nil
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let clientTLS {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: clientTLS, serverHostname: nil))
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true)
                    )
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: bytes))
            if !tls { outbound.finish() }
            return try await withThrowingTaskGroup(of: [UInt8].self) { group in
                group.addTask {
                    var all: [UInt8] = []
                    do {
                        for try await chunk in inbound {
                            all += chunk.readableBytesView
                            if let expect, all.count >= expect { break }
                        }
                    } catch {
                        // A server that rejects the bytes (plain text to a TLS port) resets: that is an answer too.
                    }
                    return all
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    throw CancellationError()
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        }
    }

    /// Lets the last FIN/ACKs cross loopback before the capture stops.
    static func settle() async throws {
        try await Task.sleep(for: .milliseconds(300))
    }
}

/// Echoes or swallows bytes; closes when the client half-closes or on error.
final class TestServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let echo: Bool

    init(echo: Bool) { self.echo = echo }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if echo { context.writeAndFlush(data, promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
