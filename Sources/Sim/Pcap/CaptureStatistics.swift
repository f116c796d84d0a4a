/// What a capture saw and lost, from pcap_stats(3PCAP) plus the capture's own count.
public struct CaptureStatistics: Hashable, Sendable {
    /// Frames handed to the handler.
    public var delivered: Int
    /// Frames the kernel received for this capture (`ps_recv`).
    public var received: UInt32
    /// Frames dropped because the buffer was full (`ps_drop`) plus by the interface (`ps_ifdrop`).
    public var dropped: UInt32
    /// libpcap's message when the read loop ended on an error instead of `stop()`.
    public var error: String?

    /// Wraps counters (tests build them by hand).
    public init(delivered: Int = 0, received: UInt32 = 0, dropped: UInt32 = 0, error: String? = nil) {
        self.delivered = delivered
        self.received = received
        self.dropped = dropped
        self.error = error
    }
}
