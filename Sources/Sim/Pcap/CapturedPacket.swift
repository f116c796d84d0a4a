/// One frame as libpcap delivered it: the captured bytes (up to the snap length) and the
/// length it had on the wire, which is what byte counts are made of.
public struct CapturedPacket: Sendable {
    /// The link-layer header type of `bytes`.
    public var linkType: LinkType
    /// The frame's length on the wire (`pcap_pkthdr.len`, tshark's `frame.len`).
    public var wireLength: Int
    /// The captured bytes: at most the snap length, so possibly fewer than `wireLength`.
    public var bytes: [UInt8]
    /// Capture time, seconds since the epoch.
    public var timestamp: Double

    /// Makes a frame (tests build them by hand).
    public init(linkType: LinkType, wireLength: Int, bytes: [UInt8], timestamp: Double = 0) {
        self.linkType = linkType
        self.wireLength = wireLength
        self.bytes = bytes
        self.timestamp = timestamp
    }
}
