import NIOCore
import NIOPosix
import Synchronization

/// The client halves of RAW/AppSocket and RFC 1179 LPD, used by the agent to print
/// straight to a printer, and by tests to drive the fake printer.
public enum PrintClient {
    /// Sends `document` over AppSocket: connect, write, half-close (`shutdown(SHUT_WR)`),
    /// then read the back channel until the printer closes. Returns what the printer said.
    public static func sendRaw(
        host: String, port: Int, document: ByteBuffer, timeout: Duration = .seconds(60),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ByteBuffer {
        let (channel, writes) = try await connect(host: host, port: port, timeout: timeout, eventLoopGroup: eventLoopGroup)
        return try await withDeadline(timeout, "waiting for the printer at \(host):\(port)") {
            try await channel.executeThenClose { inbound, outbound in
                do {
                    try await outbound.write(document)
                } catch {
                    // The printer closed before taking the job (it went offline, or dropped it).
                    throw PrintClientError.connectionLost("while sending: \(error)")
                }
                outbound.finish()
                var backChannel = ByteBuffer()
                do {
                    for try await var chunk in inbound { backChannel.writeBuffer(&chunk) }
                } catch {
                    throw PrintClientError.connectionLost("\(error)")
                }
                // A reset that hit a write still in flight closes the channel quietly (the
                // back channel just ends): the job did not all arrive.
                if let failure = writes.failure { throw PrintClientError.connectionLost("while sending: \(failure)") }
                return backChannel
            }
        }
    }

    /// A data file for `submitLPD`.
    public struct LPDDataFile: Sendable {
        public var name: String
        public var contents: ByteBuffer
        public init(name: String, contents: ByteBuffer) {
            self.name = name
            self.contents = contents
        }
    }

    /// Submits one job with RFC 1179 "receive a printer job": the control file first
    /// (or last, with `controlFileFirst: false`), each step acknowledged by the server.
    public static func submitLPD(
        host: String, port: Int, queue: String, control: LPDControlFile, controlFileName: String,
        dataFiles: [LPDDataFile], controlFileFirst: Bool = true, timeout: Duration = .seconds(60),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        // Every LPD step is acknowledged, so a cut shows up as a missing acknowledgement.
        let (channel, _) = try await connect(host: host, port: port, timeout: timeout, eventLoopGroup: eventLoopGroup)
        try await withDeadline(timeout, "submitting to \(host):\(port)/\(queue)") {
          do {
            try await channel.executeThenClose { inbound, outbound in
                var acks = inbound.makeAsyncIterator()
                var pending = ByteBuffer()
                func expectAck(_ step: String) async throws {
                    while pending.readableBytes == 0 {
                        guard var chunk = try await acks.next() else { throw PrintClientError.connectionLost("during the \(step)") }
                        pending.writeBuffer(&chunk)
                    }
                    let byte = pending.readInteger(as: UInt8.self)!
                    guard byte == 0 else { throw PrintClientError.rejected(step, byte: byte) }
                }
                func sendFile(_ command: LPDCommand, _ contents: ByteBuffer, step: String) async throws {
                    try await outbound.write(command.encoded)
                    try await expectAck("\(step) announcement")
                    try await outbound.write(contents)
                    try await outbound.write(ByteBuffer(bytes: [0]))
                    try await expectAck(step)
                }
                let controlBytes = ByteBuffer(string: control.encoded)
                try await outbound.write(LPDCommand.receiveJob(queue: queue).encoded)
                try await expectAck("receive-job command")
                if controlFileFirst {
                    try await sendFile(.receiveControlFile(count: UInt64(controlBytes.readableBytes), name: controlFileName), controlBytes, step: "control file")
                }
                for file in dataFiles {
                    try await sendFile(.receiveDataFile(count: UInt64(file.contents.readableBytes), name: file.name), file.contents, step: "data file \(file.name)")
                }
                if !controlFileFirst {
                    try await sendFile(.receiveControlFile(count: UInt64(controlBytes.readableBytes), name: controlFileName), controlBytes, step: "control file")
                }
            }
          } catch let error as PrintClientError {
            throw error
          } catch {
            // The printer closed the connection under us (offline, dropped, shutting down).
            throw PrintClientError.connectionLost("\(error)")
          }
        }
    }

    /// Sends one daemon command that answers with text (queue state) or nothing, and
    /// returns everything the server wrote before closing.
    public static func lpdCommand(
        host: String, port: Int, _ command: LPDCommand, timeout: Duration = .seconds(30),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> String {
        let reply = try await sendRaw(host: host, port: port, document: command.encoded, timeout: timeout, eventLoopGroup: eventLoopGroup)
        return String(buffer: reply)
    }

    private static func connect(
        host: String, port: Int, timeout: Duration, eventLoopGroup: any EventLoopGroup
    ) async throws -> (NIOAsyncChannel<ByteBuffer, ByteBuffer>, WriteFailureRecorder) {
        let (seconds, attoseconds) = timeout.components
        do {
            return try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
                .channelOption(.allowRemoteHalfClosure, value: true)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let writes = WriteFailureRecorder()
                        try channel.pipeline.syncOperations.addHandler(writes)
                        let wrapped = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true))
                        return (wrapped, writes)
                    }
                }
        } catch {
            throw PrintClientError.connectFailed("\(host):\(port): \(error)")
        }
    }

    /// Runs `body`, failing with `timedOut` if it takes longer than `timeout`.
    static func withDeadline<T: Sendable>(_ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw PrintClientError.timedOut(what)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

/// Remembers the first failed write on a connection. NIO fails a write's promise when the
/// peer resets the connection, then closes the channel without an inbound error, so
/// without this a job cut off mid-transfer would read as a clean end of the back channel.
final class WriteFailureRecorder: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let firstFailure = Mutex<(any Error)?>(nil)

    var failure: (any Error)? { self.firstFailure.withLock { $0 } }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let promise = promise ?? context.eventLoop.makePromise()
        promise.futureResult.whenFailure { error in
            self.firstFailure.withLock { if $0 == nil { $0 = error } }
        }
        context.write(data, promise: promise)
    }
}
