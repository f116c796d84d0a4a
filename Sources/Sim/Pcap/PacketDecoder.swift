import PrintplaneCore

/// Parses link-layer, IPv4/IPv6 and TCP/UDP headers out of a captured frame.
///
/// Pure and total: a truncated, malformed or non-IP frame yields `nil` (it is then counted
/// as `other`), never a crash. Offsets follow RFC 791 §3.1, RFC 8200 §3-4, RFC 9293 §3.1,
/// RFC 768, and the tcpdump.org LINKTYPE_* descriptions for SLL/SLL2/NULL.
public enum PacketDecoder {
    private static let etherTypeIPv4: UInt16 = 0x0800
    private static let etherTypeIPv6: UInt16 = 0x86DD
    private static let vlanTags: Set<UInt16> = [0x8100, 0x88A8, 0x9100]

    /// Decodes `packet`, or `nil` when it is not an IP packet this decoder understands.
    public static func decode(_ packet: CapturedPacket) -> DecodedPacket? {
        decode(packet.bytes, linkType: packet.linkType)
    }

    /// Decodes raw frame bytes of the given link type.
    public static func decode(_ bytes: [UInt8], linkType: LinkType) -> DecodedPacket? {
        guard let (etherType, offset) = networkLayer(bytes, linkType: linkType) else { return nil }
        switch etherType {
        case etherTypeIPv4: return ipv4(bytes, at: offset)
        case etherTypeIPv6: return ipv6(bytes, at: offset)
        default: return nil
        }
    }

    /// The EtherType-equivalent of the network layer and where it starts.
    private static func networkLayer(_ b: [UInt8], linkType: LinkType) -> (UInt16, Int)? {
        switch linkType {
        case .ethernet:
            guard b.count >= 14 else { return nil }
            var type = be16(b, 12)
            var offset = 14
            while vlanTags.contains(type) {
                guard b.count >= offset + 4 else { return nil }
                type = be16(b, offset + 2)
                offset += 4
            }
            return (type, offset)
        case .linuxSLL:
            guard b.count >= 16 else { return nil }
            return (be16(b, 14), 16)
        case .linuxSLL2:
            guard b.count >= 20 else { return nil }
            return (be16(b, 0), 20)
        case .null, .loop:
            guard b.count >= 4 else { return nil }
            let family = linkType == .loop
                ? UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
                : UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
            switch family {
            case 2: return (etherTypeIPv4, 4)
            case 10, 24, 28, 30: return (etherTypeIPv6, 4)
            default: return nil
            }
        case .raw:
            guard let first = b.first else { return nil }
            switch first >> 4 {
            case 4: return (etherTypeIPv4, 0)
            case 6: return (etherTypeIPv6, 0)
            default: return nil
            }
        default:
            return nil
        }
    }

    private static func ipv4(_ b: [UInt8], at start: Int) -> DecodedPacket? {
        guard b.count >= start + 20, b[start] >> 4 == 4 else { return nil }
        let headerLength = Int(b[start] & 0x0F) * 4
        guard headerLength >= 20, b.count >= start + headerLength else { return nil }
        let totalLength = Int(be16(b, start + 2))
        let fragmentOffset = be16(b, start + 6) & 0x1FFF
        let proto = b[start + 9]
        guard let source = IPAddress(bytes: Array(b[(start + 12)..<(start + 16)])),
              let destination = IPAddress(bytes: Array(b[(start + 16)..<(start + 20)]))
        else { return nil }
        // TSO/GRO frames on lo can carry total length 0; fall back to what was captured.
        let end = totalLength >= headerLength ? start + totalLength : Int.max
        return transport(b, proto: proto, at: start + headerLength, end: end, source: source, destination: destination, hasPorts: fragmentOffset == 0)
    }

    private static func ipv6(_ b: [UInt8], at start: Int) -> DecodedPacket? {
        guard b.count >= start + 40, b[start] >> 4 == 6 else { return nil }
        let payloadLength = Int(be16(b, start + 4))
        guard let source = IPAddress(bytes: Array(b[(start + 8)..<(start + 24)])),
              let destination = IPAddress(bytes: Array(b[(start + 24)..<(start + 40)]))
        else { return nil }
        var next = b[start + 6]
        var offset = start + 40
        let end = payloadLength > 0 ? start + 40 + payloadLength : Int.max
        var hasPorts = true
        // Hop-by-hop, routing, fragment and destination-options headers (RFC 8200 §4).
        var hops = 0
        while [0, 43, 44, 60].contains(next), hops < 8 {
            guard b.count >= offset + 8 else {
                return DecodedPacket(source: source, destination: destination, transport: .other(next))
            }
            if next == 44 {
                if be16(b, offset + 2) & 0xFFF8 != 0 { hasPorts = false }
                next = b[offset]
                offset += 8
            } else {
                let length = (Int(b[offset + 1]) + 1) * 8
                next = b[offset]
                offset += length
            }
            hops += 1
        }
        return transport(b, proto: next, at: offset, end: end, source: source, destination: destination, hasPorts: hasPorts)
    }

    private static func transport(
        _ b: [UInt8], proto: UInt8, at offset: Int, end: Int,
        source: IPAddress, destination: IPAddress, hasPorts: Bool
    ) -> DecodedPacket? {
        switch proto {
        case 6:
            var packet = DecodedPacket(source: source, destination: destination, transport: .tcp)
            guard hasPorts, b.count >= offset + 14 else { return packet }
            packet.sourcePort = be16(b, offset)
            packet.destinationPort = be16(b, offset + 2)
            packet.tcpFlags = DecodedPacket.TCPFlags(rawValue: b[offset + 13] & 0x3F)
            let dataOffset = Int(b[offset + 12] >> 4) * 4
            guard dataOffset >= 20 else { return packet }
            let payloadStart = offset + dataOffset
            let payloadEnd = end == Int.max ? b.count : end
            packet.payloadLength = max(0, payloadEnd - payloadStart)
            if payloadStart < b.count {
                let available = min(b.count, payloadEnd)
                if payloadStart < available {
                    packet.payloadPrefix = Array(b[payloadStart..<min(available, payloadStart + 8)])
                }
            }
            return packet
        case 17:
            var packet = DecodedPacket(source: source, destination: destination, transport: .udp)
            guard hasPorts, b.count >= offset + 4 else { return packet }
            packet.sourcePort = be16(b, offset)
            packet.destinationPort = be16(b, offset + 2)
            return packet
        default:
            return DecodedPacket(source: source, destination: destination, transport: .other(proto))
        }
    }

    private static func be16(_ b: [UInt8], _ i: Int) -> UInt16 {
        UInt16(b[i]) << 8 | UInt16(b[i + 1])
    }
}
