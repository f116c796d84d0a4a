import NIOCore
import PrintProtocols

/// What a RAW connection's task hears about the stream, in order.
enum RawEvent: Sendable {
    /// A PJL command (answer it if it is a query).
    case command(PJLCommand)
    /// A job started; `name` is its `@PJL JOB NAME`, if any. The scanner reads no
    /// further until the task answers with `RawJobScanner.JobAccepted`.
    case jobStarted(name: String?)
    /// The job's next bytes, exactly as sent; only when the printer keeps document bytes.
    case jobData(ByteBuffer)
    /// The job ended; its pages were counted as its bytes went by.
    case jobEnded(PageCount, bytes: UInt64)
    /// The printer cut the job (drop fault, size limit); nothing more follows.
    case jobCut(ConnectionCut, bytes: UInt64)
    /// The connection failed or closed in the middle of the job.
    case jobInterrupted(bytes: UInt64)
}

/// Splits a RAW (AppSocket) byte stream into jobs, counts their pages and applies the
/// slow and drop faults on the event loop, as each read arrives; the connection's task
/// hears only what needs an actor or the disk (`RawEvent`).
///
/// Why here: measured (docs/fake-printer.md, "Ingest throughput"), handing every read to
/// the task put a third busy thread beside the sender and the event loop, and 200 MB
/// ingest fell to 0.5–0.7 of a NIO discard server. Counting is bounded per byte (the PDF
/// counter's inflation has its own limits), so no read holds the loop for long.
///
/// Reads stop while the task starts a job (the busy fault waits there, and a jam refuses
/// the job), while the slow fault's budget is spent, and for good once a job is cut.
final class RawJobScanner: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = RawEvent
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent by the task (`Channel.triggerUserOutboundEvent`) once it has started the job.
    struct JobAccepted: Sendable {}

    private let printer: VirtualPrinter
    private var machine = AppSocketStateMachine()
    private var counter = PageCounter()
    private var inJob = false
    private var jobBytes: UInt64 = 0
    /// Job bytes on this connection (the drop fault counts these).
    private var connectionJobBytes = 0

    /// Work not done yet because the task is starting a job.
    private var actions: [AppSocketStateMachine.Action] = []
    private var nextAction = 0
    private var inbox = CircularBuffer<ByteBuffer>()
    private var endOfInput = false
    private var endHandled = false
    private var endForwarded = false

    private var waitingForJobStart = false
    private var cut = false
    /// The slow fault: no reading before this.
    private var readAllowedAt: NIODeadline?
    private var readRequested = false
    private var wakeUp: Scheduled<Void>?

    init(printer: VirtualPrinter) {
        self.printer = printer
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !cut else { return }
        let chunk = unwrapInboundIn(data)
        if let rate = printer.currentFaults.bytesPerSecond {
            let wait = TimeAmount.nanoseconds(Int64(Double(chunk.readableBytes) / Double(rate) * 1e9))
            readAllowedAt = max(readAllowedAt ?? .now(), .now()) + wait
        }
        inbox.append(chunk)
        drain(context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // Forwarded once every job it ends has been passed on (and the slow fault allows).
            endOfInput = true
            drain(context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        interrupt(context)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        interrupt(context)
        wakeUp?.cancel()
        context.fireChannelInactive()
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        readRequested = true
        resume(context)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is JobAccepted else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        waitingForJobStart = false
        promise?.succeed()
        drain(context)
    }

    // MARK: Work

    /// Passes on everything it can, in order, then lets reading go on if nothing holds it.
    private func drain(_ context: ChannelHandlerContext) {
        var emitted = false
        while !waitingForJobStart && !cut {
            if nextAction < actions.count {
                nextAction += 1
                emitted = emit(actions[nextAction - 1], context) || emitted
            } else if let chunk = inbox.popFirst() {
                actions.removeAll(keepingCapacity: true)
                nextAction = 0
                machine.consume(chunk, into: &actions)
            } else if endOfInput && !endHandled {
                endHandled = true
                actions.removeAll(keepingCapacity: true)
                nextAction = 0
                machine.finish(into: &actions)
            } else {
                break
            }
        }
        // Outside a read cycle (a job accepted, a wake-up) nothing else would hand the
        // events to the task.
        if emitted { context.fireChannelReadComplete() }
        resume(context)
    }

    /// Returns whether it passed an event on.
    private func emit(_ action: AppSocketStateMachine.Action, _ context: ChannelHandlerContext) -> Bool {
        switch action {
        case .command(let command):
            context.fireChannelRead(wrapInboundOut(.command(command)))
            return true
        case .jobStarted(let name):
            inJob = true
            jobBytes = 0
            counter = PageCounter()
            waitingForJobStart = true
            context.fireChannelRead(wrapInboundOut(.jobStarted(name: name)))
            return true
        case .jobData(var bytes):
            let faults = printer.currentFaults
            var reason: ConnectionCut?
            if let limit = faults.dropAfterBytes, connectionJobBytes + bytes.readableBytes > limit {
                bytes = bytes.getSlice(at: bytes.readerIndex, length: max(0, limit - connectionJobBytes)) ?? ByteBuffer()
                reason = ConnectionCut(reason: "drop fault after \(limit) bytes", state: .dropped)
            }
            connectionJobBytes += bytes.readableBytes
            jobBytes += UInt64(bytes.readableBytes)
            counter.consume(bytes)
            let keep = printer.configuration.keepDocumentBytes
            if keep { context.fireChannelRead(wrapInboundOut(.jobData(bytes))) }
            let limit = printer.configuration.maximumJobBytes
            if reason == nil, jobBytes > limit {
                reason = ConnectionCut(reason: "job larger than \(limit) bytes", state: .refused)
            }
            if let reason {
                cut = true
                inJob = false
                inbox.removeAll()
                context.fireChannelRead(wrapInboundOut(.jobCut(reason, bytes: jobBytes)))
                return true
            }
            return keep
        case .jobEnded:
            inJob = false
            context.fireChannelRead(wrapInboundOut(.jobEnded(counter.finish(), bytes: jobBytes)))
            return true
        }
    }

    /// Reads on, or forwards the end of input, once nothing holds them.
    private func resume(_ context: ChannelHandlerContext) {
        guard !waitingForJobStart && !cut else { return }
        if let allowedAt = readAllowedAt {
            guard allowedAt <= .now() else {
                scheduleWakeUp(context, at: allowedAt)
                return
            }
            readAllowedAt = nil
        }
        if endHandled && !endForwarded && inbox.isEmpty && nextAction == actions.count {
            endForwarded = true
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            return
        }
        if readRequested {
            readRequested = false
            context.read()
        }
    }

    private func scheduleWakeUp(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        guard wakeUp == nil else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        wakeUp = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.wakeUp = nil
            handler.resume(context)
        }
    }

    /// The connection is ending with a job open: the task records what arrived.
    private func interrupt(_ context: ChannelHandlerContext) {
        guard inJob else { return }
        inJob = false
        context.fireChannelRead(wrapInboundOut(.jobInterrupted(bytes: jobBytes)))
    }
}
