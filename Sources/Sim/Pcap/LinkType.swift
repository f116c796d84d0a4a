/// The libpcap link-layer header types (DLT_*) the decoder understands.
///
/// On Linux `lo` reports Ethernet (all-zero MACs), `any` reports Linux cooked SLL or,
/// when asked for, SLL2, and a veth reports Ethernet. DLT_NULL/LOOP cover BSD loopback
/// and DLT_RAW bare IP (tun devices).
public struct LinkType: Hashable, Sendable, CustomStringConvertible {
    /// The DLT_* number libpcap reports (`pcap_datalink`).
    public let rawValue: Int32

    /// Wraps a DLT_* number.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// DLT_NULL: 4-byte address family in host byte order (BSD loopback).
    public static let null = LinkType(rawValue: 0)
    /// DLT_EN10MB: Ethernet II (veth, and `lo` on Linux).
    public static let ethernet = LinkType(rawValue: 1)
    /// DLT_RAW: the packet starts with the IP header.
    public static let raw = LinkType(rawValue: 12)
    /// DLT_LOOP: like DLT_NULL with the family in network byte order (OpenBSD loopback).
    public static let loop = LinkType(rawValue: 108)
    /// DLT_LINUX_SLL: Linux cooked capture v1 (16-byte header), the default on `any`.
    public static let linuxSLL = LinkType(rawValue: 113)
    /// DLT_LINUX_SLL2: Linux cooked capture v2 (20-byte header, carries the interface index).
    public static let linuxSLL2 = LinkType(rawValue: 276)

    public var description: String {
        switch self {
        case .null: "NULL"
        case .ethernet: "EN10MB"
        case .raw: "RAW"
        case .loop: "LOOP"
        case .linuxSLL: "LINUX_SLL"
        case .linuxSLL2: "LINUX_SLL2"
        default: "DLT \(rawValue)"
        }
    }
}
