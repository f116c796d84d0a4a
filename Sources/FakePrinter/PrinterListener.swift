import Logging
import NIOCore
import NIOPosix
import PrintProtocols

/// Keeps one printer's 9100 and 515 listeners bound while it is online, and closed while
/// it is offline (so clients get "connection refused", as from a switched-off printer).
/// Connections run as children of the listener's discarding task group, so shutting the
/// listener down lets in-flight jobs finish.
struct PrinterListener {
    let printer: VirtualPrinter
    let configuration: FakePrinterConfiguration
    let logger: Logger
    let readiness: Readiness

    /// Reports the ports actually bound (port 0 in the configuration picks free ones), or
    /// why the printer could not listen, so nobody waits for a listener that failed.
    final class Readiness: Sendable {
        typealias Ports = (raw: Int, lpd: Int)
        let ports: AsyncStream<Result<Ports, FakePrinterError>>
        let continuation: AsyncStream<Result<Ports, FakePrinterError>>.Continuation
        init() { (ports, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1)) }
    }

    private typealias RawServer = NIOAsyncChannel<NIOAsyncChannel<RawEvent, ByteBuffer>, Never>
    private typealias LPDServer = NIOAsyncChannel<NIOAsyncChannel<LPDInbound, ByteBuffer>, Never>

    /// Runs until `changes` ends (shutdown), then waits for in-flight connections.
    func run(changes: AsyncStream<FaultChange>) async throws {
        var rawPort = configuration.rawPort
        var lpdPort = configuration.lpdPort
        var bound: (raw: RawServer, lpd: LPDServer)?
        try await withThrowingDiscardingTaskGroup { group in
            defer { if let bound { bound.raw.channel.close(promise: nil); bound.lpd.channel.close(promise: nil) } }
            for await change in changes {
                let faults = change.faults
                if faults.offline, let current = bound {
                    try? await current.raw.channel.close()
                    try? await current.lpd.channel.close()
                    bound = nil
                    logger.info("printer offline: listeners closed")
                } else if !faults.offline, bound == nil {
                    let raw: RawServer
                    let lpd: LPDServer
                    do {
                        raw = try await bindRaw(port: rawPort)
                        do {
                            lpd = try await bindLPD(port: lpdPort)
                        } catch {
                            try? await raw.channel.close()
                            throw error
                        }
                    } catch let error as FakePrinterError {
                        readiness.continuation.yield(.failure(error))
                        throw error
                    }
                    rawPort = raw.channel.localAddress?.port ?? rawPort
                    lpdPort = lpd.channel.localAddress?.port ?? lpdPort
                    bound = (raw, lpd)
                    await printer.listening(raw: rawPort, lpd: lpdPort)
                    readiness.continuation.yield(.success((rawPort, lpdPort)))
                    group.addTask { await acceptRaw(raw) }
                    group.addTask { await acceptLPD(lpd) }
                }
                // setFaults waits for this. (A failed bind ends the listener, and with it
                // the stream, which releases the wait too.)
                await printer.faultsApplied(change.generation)
            }
        }
    }

    private func acceptRaw(_ server: RawServer) async {
        let handler = RawPrintHandler(printer: printer, logger: logger)
        do {
            try await withThrowingDiscardingTaskGroup { connections in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        connections.addTask { await handler.handle(connection) }
                    }
                }
            }
        } catch {
            logger.debug("RAW listener closed", metadata: ["error": "\(error)"])
        }
    }

    private func acceptLPD(_ server: LPDServer) async {
        let handler = LPDPrintHandler(printer: printer, logger: logger)
        do {
            try await withThrowingDiscardingTaskGroup { connections in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        connections.addTask { await handler.handle(connection) }
                    }
                }
            }
        } catch {
            logger.debug("LPD listener closed", metadata: ["error": "\(error)"])
        }
    }

    private func bootstrap() -> ServerBootstrap {
        ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
    }

    private func bindRaw(port: Int) async throws -> RawServer {
        let idle = configuration.idleTimeout
        let printer = self.printer
        do {
            return try await bootstrap().bind(host: printer.address, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // NIO's default reads (up to 64 KiB) on purpose: they stay in cache
                    // between the kernel's copy and the page counter. Reads of up to 1 MiB
                    // cost a NIO discard server itself a fifth of its throughput.
                    try channel.pipeline.syncOperations.addHandlers(IdleConnectionCloser(timeout: idle), RawJobScanner(printer: printer))
                    // Deinit-based teardown on purpose: a connection accepted while the
                    // listener shuts down is dropped unconsumed, and must then close itself
                    // instead of tripping NIOAsyncWriter's "deinited without finish()".
                    return try NIOAsyncChannel<RawEvent, ByteBuffer>(
                        synchronouslyWrapping: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: false))
                }
            }
        } catch {
            throw FakePrinterError.bindFailed("RAW on \(printer.address):\(port): \(error)")
        }
    }

    private func bindLPD(port: Int) async throws -> LPDServer {
        let idle = configuration.idleTimeout
        do {
            return try await bootstrap().bind(host: printer.address, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleConnectionCloser(timeout: idle))
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LPDCommandDecoder()))
                    // Deinit-based teardown on purpose (see the RAW listener).
                    return try NIOAsyncChannel<LPDInbound, ByteBuffer>(
                        synchronouslyWrapping: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: false))
                }
            }
        } catch {
            throw FakePrinterError.bindFailed("LPD on \(printer.address):\(port): \(error)")
        }
    }
}

/// Closes a connection that has sent nothing for `timeout`, so a silent client cannot
/// hold a printer (or a busy slot) forever. A read only notes the time; the one timer
/// re-arms itself for the rest of the wait when it finds the connection was active,
/// so a long job's thousands of reads never touch the timer heap.
final class IdleConnectionCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var lastRead = NIODeadline.now()
    private var timer: Scheduled<Void>?

    init(timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        self.timeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastRead = .now()
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { stop() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        lastRead = .now()
        schedule(context, at: lastRead + timeout)
    }

    private func stop() {
        timer?.cancel()
        timer = nil
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.expire(context)
        }
    }

    private func expire(_ context: ChannelHandlerContext) {
        guard timer != nil else { return }
        let due = lastRead + timeout
        if due > .now() {
            schedule(context, at: due)
        } else {
            timer = nil
            context.close(promise: nil)
        }
    }
}
