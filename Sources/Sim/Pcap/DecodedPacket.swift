import PrintplaneCore

/// The parts of an IP packet the verifier needs: endpoints, ports, TCP flags and the
/// first bytes of the TCP payload (enough to recognise a TLS ClientHello).
public struct DecodedPacket: Hashable, Sendable {
    /// The transport protocol above IP.
    public enum Transport: Hashable, Sendable {
        case tcp
        case udp
        /// Any other IP protocol number (ICMP, …): no ports.
        case other(UInt8)
    }

    /// TCP flag bits (RFC 9293 §3.1).
    public struct TCPFlags: OptionSet, Hashable, Sendable {
        /// The low six flag bits of the TCP header's 14th byte.
        public let rawValue: UInt8
        /// Wraps flag bits.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let fin = TCPFlags(rawValue: 0x01)
        public static let syn = TCPFlags(rawValue: 0x02)
        public static let rst = TCPFlags(rawValue: 0x04)
        public static let psh = TCPFlags(rawValue: 0x08)
        public static let ack = TCPFlags(rawValue: 0x10)
    }

    /// The IP source address.
    public var source: IPAddress
    /// The IP destination address.
    public var destination: IPAddress
    /// TCP, UDP or another IP protocol.
    public var transport: Transport
    /// `nil` unless TCP/UDP with the header captured (and not a non-first fragment).
    public var sourcePort: UInt16?
    /// `nil` under the same conditions as `sourcePort`.
    public var destinationPort: UInt16?
    /// TCP only; empty otherwise.
    public var tcpFlags: TCPFlags
    /// TCP payload length per the IP header (not limited by the snap length).
    public var payloadLength: Int
    /// Up to the first 8 captured bytes of the TCP payload.
    public var payloadPrefix: [UInt8]

    /// Builds a packet by hand (tests, and the decoder).
    public init(
        source: IPAddress, destination: IPAddress, transport: Transport,
        sourcePort: UInt16? = nil, destinationPort: UInt16? = nil,
        tcpFlags: TCPFlags = [], payloadLength: Int = 0, payloadPrefix: [UInt8] = []
    ) {
        self.source = source
        self.destination = destination
        self.transport = transport
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.tcpFlags = tcpFlags
        self.payloadLength = payloadLength
        self.payloadPrefix = payloadPrefix
    }

    /// True when the payload starts like a TLS ClientHello: record type handshake (0x16),
    /// major version 3, handshake type client_hello (1) (RFC 8446 §5.1, §4).
    public var startsWithTLSClientHello: Bool {
        guard payloadPrefix.count >= 1, payloadPrefix[0] == 0x16 else { return false }
        if payloadPrefix.count >= 2, payloadPrefix[1] != 0x03 { return false }
        if payloadPrefix.count >= 6, payloadPrefix[5] != 0x01 { return false }
        return true
    }
}
