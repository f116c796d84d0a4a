/// What to capture and where; defaults suit a verifier on `any`.
public struct PacketCaptureConfiguration: Sendable {
    /// Interface name: `any`, `lo`, a veth such as `wan`.
    public var device: String
    /// A network namespace under /var/run/netns to capture in; only the capture thread
    /// enters it (setns), the rest of the process stays where it was.
    public var namespace: String?
    /// A BPF filter in pcap-filter(7) syntax; empty captures everything.
    public var filter: String
    /// Bytes kept per frame. Headers plus the first payload bytes are all the verifier needs,
    /// and a small snap length keeps drops away under load. Byte counts use the wire length.
    public var snapLength: Int32
    /// Ask for a specific link type (e.g. `.linuxSLL2` on `any`); `nil` keeps the device default.
    public var linkType: LinkType?
    /// Kernel buffer size in bytes.
    public var bufferSize: Int32
    /// Also write every captured frame to this pcap file (what `--pcap-out` sets).
    public var outputPath: String?

    /// Defaults: every interface (`any`), no filter, 256-byte snap length, 8 MiB buffer.
    public init(
        device: String = "any",
        namespace: String? = nil,
        filter: String = "",
        snapLength: Int32 = 256,
        linkType: LinkType? = nil,
        bufferSize: Int32 = 8 << 20,
        outputPath: String? = nil
    ) {
        self.device = device
        self.namespace = namespace
        self.filter = filter
        self.snapLength = snapLength
        self.linkType = linkType
        self.bufferSize = bufferSize
        self.outputPath = outputPath
    }
}
