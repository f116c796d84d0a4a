import Foundation
import NIOCore
import NIOPosix
import Sim
import Synchronization
import Testing

/// The capture reports the kernel's drop count instead of hiding it: a deliberately slow
/// handler behind a tiny buffer, flooded with datagrams, must show drops.
struct PcapDropTests {
    @Test func aSlowReaderBehindATinyBufferReportsDrops() async throws {
        try PcapTestSupport.requireRoot()
        let seen = Mutex(0)
        let capture = try await PacketCapture.start(
            PacketCaptureConfiguration(device: "lo", filter: "udp and dst host 127.77.60.1", bufferSize: 4096)
        ) { _ in
            seen.withLock { $0 += 1 }
            usleep(20_000)
        }
        let receiver = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.77.60.1", port: 0).get()
        let sender = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.77.60.2", port: 0).get()
        let target = receiver.localAddress!
        let sent = 400
        for index in 0..<sent {
            let payload = ByteBuffer(bytes: [UInt8](repeating: UInt8(index & 0xFF), count: 200))
            try await sender.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: payload))
        }
        try await Task.sleep(for: .milliseconds(200))
        let statistics = await capture.stop()
        try await sender.close()
        try await receiver.close()

        #expect(statistics.dropped > 0, "a 4 KiB buffer cannot hold \(sent) datagrams while the reader sleeps")
        #expect(statistics.delivered == seen.withLock { $0 })
        #expect(statistics.delivered + Int(statistics.dropped) >= sent - 5, "every datagram was either delivered or counted as dropped")
        #expect(statistics.error == nil)
    }
}
