/// What the verifier reports for one run: the metrics scenario thresholds read, and whether
/// they can be trusted.
public struct PcapVerificationResult: Hashable, Sendable {
    /// Whether the capture saw the whole run.
    public enum Status: Hashable, Sendable, CustomStringConvertible {
        /// Every frame was seen; the metrics are the whole truth.
        case captured
        /// No capture happened (e.g. `needs CAP_NET_RAW`); `metrics` is empty, so any
        /// threshold on a pcap metric fails unless the scenario marks it optional.
        case skipped(reason: String)
        /// The kernel dropped this many frames: the counts are a lower bound and the run
        /// must be flagged, not passed.
        case flaggedDrops(UInt32)
        /// The capture broke off mid-run (libpcap error, e.g. the interface vanished): the
        /// metrics cover only part of the run and must not pass a threshold.
        case failed(reason: String)

        public var description: String {
            switch self {
            case .captured: "captured"
            case .skipped(let reason): "skipped: \(reason)"
            case .flaggedDrops(let count): "flagged: the capture dropped \(count) packets"
            case .failed(let reason): "failed: \(reason)"
            }
        }
    }

    /// Whether the metrics can be trusted.
    public var status: Status
    /// `pcap.print_packets_to_cloud`, `pcap.non_tls_to_cloud`, `pcap.packets.<class>`,
    /// `pcap.wan_bytes.<class>`, `pcap.dropped`, … (docs/pcap.md). Empty when skipped.
    public var metrics: [String: Double]
    /// The link type the capture read, `nil` when skipped.
    public var linkType: LinkType?
    /// Where the frames were written (`--pcap-out`), if anywhere.
    public var pcapOutput: String?

    /// Wraps a verdict.
    public init(status: Status, metrics: [String: Double], linkType: LinkType? = nil, pcapOutput: String? = nil) {
        self.status = status
        self.metrics = metrics
        self.linkType = linkType
        self.pcapOutput = pcapOutput
    }
}
