import CPcap
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A live libpcap capture read on its own thread.
///
/// Capture reads block, so they run on a dedicated thread: never on an NIO event loop or
/// the cooperative pool. That thread also enters the requested network namespace before
/// opening the device, which leaves every other thread of the process where it was.
/// `stop()` wakes the thread with `pcap_breakloop`, drains what the kernel already holds,
/// and returns the drop counters.
/// The thread (and the device) live until `stop()` is called: always call it.
public final class PacketCapture: Sendable {
    /// The `pcap_t *`: touched only under the state lock once the capture thread published it.
    private struct Handle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private struct State {
        var handle: Handle?
        var linkType = LinkType.ethernet
        var stopRequested = false
        var finished: CaptureStatistics?
        var waiters: [CheckedContinuation<CaptureStatistics, Never>] = []
    }

    /// Per-thread context the C callback reaches through its `user` pointer.
    private final class Context {
        let handler: @Sendable (CapturedPacket) -> Void
        let linkType: LinkType
        let dumper: OpaquePointer?
        var delivered = 0

        init(handler: @escaping @Sendable (CapturedPacket) -> Void, linkType: LinkType, dumper: OpaquePointer?) {
            self.handler = handler
            self.linkType = linkType
            self.dumper = dumper
        }
    }

    /// What the capture was opened with.
    public let configuration: PacketCaptureConfiguration
    private let state = Mutex(State())

    private init(configuration: PacketCaptureConfiguration) {
        self.configuration = configuration
    }

    /// The link type the device delivers (after any requested `linkType` was applied).
    public var linkType: LinkType { state.withLock { $0.linkType } }

    /// Opens the device, applies the filter and starts reading; `handler` runs on the capture
    /// thread for every frame, so it must be quick and thread-safe.
    /// - Throws: `PacketCaptureError` (`isPermissionDenied` without CAP_NET_RAW).
    public static func start(
        _ configuration: PacketCaptureConfiguration,
        handler: @escaping @Sendable (CapturedPacket) -> Void
    ) async throws -> PacketCapture {
        let capture = PacketCapture(configuration: configuration)
        try await withCheckedThrowingContinuation { (opened: CheckedContinuation<Void, any Error>) in
            let thread = Thread { capture.threadMain(handler: handler, opened: opened) }
            thread.name = "printplane.pcap"
            thread.start()
        }
        return capture
    }

    /// Stops reading, waits for the thread to close the device and returns the statistics.
    /// Safe to call more than once.
    public func stop() async -> CaptureStatistics {
        await withCheckedContinuation { continuation in
            let done: CaptureStatistics? = state.withLock { state in
                state.stopRequested = true
                if let finished = state.finished { return finished }
                if let handle = state.handle { pcap_breakloop(handle.pointer) }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    private func threadMain(handler: @escaping @Sendable (CapturedPacket) -> Void, opened: CheckedContinuation<Void, any Error>) {
        let handle: OpaquePointer
        let dumper: OpaquePointer?
        do {
            if let namespace = configuration.namespace { try Self.enter(namespace: namespace) }
            (handle, dumper) = try open()
        } catch {
            state.withLock { $0.finished = CaptureStatistics(error: "\(error)") }
            opened.resume(throwing: error)
            return
        }
        let linkType = LinkType(rawValue: pcap_datalink(handle))
        state.withLock {
            $0.handle = Handle(pointer: handle)
            $0.linkType = linkType
        }
        opened.resume()

        let context = Context(handler: handler, linkType: linkType, dumper: dumper)
        let user = Unmanaged.passUnretained(context).toOpaque().assumingMemoryBound(to: UInt8.self)
        let callback: pcap_handler = { user, header, bytes in
            guard let user, let header, let bytes else { return }
            let context = Unmanaged<Context>.fromOpaque(UnsafeRawPointer(user)).takeUnretainedValue()
            if let dumper = context.dumper {
                pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), header, bytes)
            }
            let captured = Int(header.pointee.caplen)
            let timestamp = Double(header.pointee.ts.tv_sec) + Double(header.pointee.ts.tv_usec) / 1_000_000
            context.delivered += 1
            context.handler(CapturedPacket(
                linkType: context.linkType,
                wireLength: Int(header.pointee.len),
                bytes: Array(UnsafeBufferPointer(start: bytes, count: captured)),
                timestamp: timestamp
            ))
        }
        var loopError: String?
        while !state.withLock({ $0.stopRequested }) {
            let count = pcap_dispatch(handle, -1, callback, user)
            if count == PCAP_ERROR_BREAK { break }
            if count < 0 {
                loopError = String(cString: pcap_geterr(handle))
                break
            }
        }
        // Drain what the kernel already queued before the stop, without blocking.
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        if loopError == nil, pcap_setnonblock(handle, 1, &errorBuffer) == 0 {
            while pcap_dispatch(handle, -1, callback, user) > 0 {}
        }
        var stats = pcap_stat()
        let statsOK = pcap_stats(handle, &stats) == 0
        if let dumper {
            pcap_dump_flush(dumper)
            pcap_dump_close(dumper)
        }
        let statistics = withExtendedLifetime(context) {
            CaptureStatistics(
                delivered: context.delivered,
                received: statsOK ? stats.ps_recv : 0,
                dropped: statsOK ? stats.ps_drop &+ stats.ps_ifdrop : 0,
                error: loopError ?? (statsOK ? nil : "pcap_stats failed: \(String(cString: pcap_geterr(handle)))")
            )
        }
        let waiters = state.withLock { state in
            pcap_close(handle)
            state.handle = nil
            state.finished = statistics
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: statistics) }
    }

    /// Moves the calling (capture) thread into the named network namespace.
    private static func enter(namespace: String) throws {
        guard !namespace.isEmpty, !namespace.contains("/"), namespace != ".", namespace != ".." else {
            throw PacketCaptureError.noSuchNamespace("'\(namespace)' is not a namespace name")
        }
        let path = "/var/run/netns/\(namespace)"
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw PacketCaptureError.noSuchNamespace("\(path) does not exist (see `ip netns list`)") }
            if code == EACCES || code == EPERM { throw PacketCaptureError.permissionDenied("cannot open \(path)") }
            throw PacketCaptureError.failed("cannot open \(path): \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        guard setns(fd, cpcap_clone_newnet) == 0 else {
            let code = errno
            if code == EPERM { throw PacketCaptureError.permissionDenied("entering namespace \(namespace) needs CAP_SYS_ADMIN") }
            throw PacketCaptureError.failed("setns(\(namespace)): \(String(cString: strerror(code)))")
        }
    }

    /// Creates, activates and filters the handle; opens the dump file if asked.
    private func open() throws -> (OpaquePointer, OpaquePointer?) {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_create(configuration.device, &errorBuffer) else {
            throw PacketCaptureError.failed(errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        var keep = false
        defer { if !keep { pcap_close(handle) } }
        func message() -> String { String(cString: pcap_geterr(handle)) }
        _ = pcap_set_snaplen(handle, configuration.snapLength)
        _ = pcap_set_promisc(handle, 0)
        _ = pcap_set_timeout(handle, 100)
        _ = pcap_set_immediate_mode(handle, 1)
        _ = pcap_set_buffer_size(handle, configuration.bufferSize)
        let status = pcap_activate(handle)
        if status < 0 {
            let detail = "\(configuration.device): \(message())"
            switch status {
            case PCAP_ERROR_PERM_DENIED, PCAP_ERROR_PROMISC_PERM_DENIED: throw PacketCaptureError.permissionDenied(detail)
            case PCAP_ERROR_NO_SUCH_DEVICE: throw PacketCaptureError.noSuchDevice(detail)
            default: throw PacketCaptureError.failed(detail)
            }
        }
        if let linkType = configuration.linkType, pcap_set_datalink(handle, linkType.rawValue) != 0 {
            throw PacketCaptureError.unsupportedLinkType("\(configuration.device) cannot deliver \(linkType): \(message())")
        }
        var program = bpf_program()
        guard pcap_compile(handle, &program, configuration.filter, 1, 0xFFFF_FFFF) == 0 else {
            throw PacketCaptureError.badFilter("'\(configuration.filter)': \(message())")
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            throw PacketCaptureError.badFilter("'\(configuration.filter)': \(message())")
        }
        var dumper: OpaquePointer?
        if let path = configuration.outputPath {
            guard let opened = pcap_dump_open(handle, path) else {
                throw PacketCaptureError.cannotWrite("\(path): \(message())")
            }
            dumper = opened
        }
        keep = true
        return (handle, dumper)
    }
}
