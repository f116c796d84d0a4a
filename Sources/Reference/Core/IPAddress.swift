#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as its network-order bytes (4 or 16).
///
/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) are folded to
/// IPv4, so a dual-stack socket's view of a client matches an IPv4 range.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible, Codable {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]

    /// Parses dotted-quad IPv4 or RFC 4291 §2.2 IPv6 text; `nil` if it is neither.
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let raw = withUnsafeBytes(of: &v6) { Array($0) }
        if raw[0..<10].allSatisfy({ $0 == 0 }) && raw[10] == 0xff && raw[11] == 0xff {
            self.bytes = Array(raw[12..<16])
        } else {
            self.bytes = raw
        }
    }

    /// Wraps 4 or 16 raw bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Whether this is an IPv4 address.
    public var isIPv4: Bool { self.bytes.count == 4 }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: 64)
        var bytes = self.bytes
        let family = self.isIPv4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeMutableBytes { source in
            inet_ntop(family, source.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let address = IPAddress(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an IP address: \(text.prefix(64))")
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }
}

/// A CIDR block (RFC 4632 §3.1 for IPv4, RFC 4291 §2.3 for IPv6), e.g. `10.1.0.0/16` or `2001:db8::/32`.
///
/// Host bits are cleared on parse, so `10.1.2.3/16` and `10.1.0.0/16` are the same range.
public struct IPRange: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The network address with host bits cleared.
    public let network: IPAddress
    /// Leading bits that must match: 0...32 for IPv4, 0...128 for IPv6.
    public let prefixLength: Int

    /// Parses `address/prefix`; a bare address is a single-host range.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let address = IPAddress(parts[0]) else { return nil }
        let maximum = address.bytes.count * 8
        let length: Int
        if parts.count == 2 {
            guard parts[1].utf8.count <= 3, parts[1].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let parsed = Int(parts[1]), (0...maximum).contains(parsed)
            else { return nil }
            length = parsed
        } else {
            length = maximum
        }
        self.init(network: address, prefixLength: length)
    }

    /// A range from an address and a prefix length (clamped to the family's width).
    public init(network: IPAddress, prefixLength: Int) {
        let length = max(0, min(prefixLength, network.bytes.count * 8))
        self.prefixLength = length
        self.network = IPAddress(bytes: Self.mask(network.bytes, prefixLength: length))!
    }

    /// Whether `address` lies in this range. Families never match each other.
    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == self.network.bytes.count else { return false }
        return Self.mask(address.bytes, prefixLength: self.prefixLength) == self.network.bytes
    }

    static func mask(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        var out = bytes
        for index in out.indices {
            let bitsBefore = index * 8
            if bitsBefore >= prefixLength {
                out[index] = 0
            } else if bitsBefore + 8 > prefixLength {
                let keep = prefixLength - bitsBefore
                out[index] &= UInt8(truncatingIfNeeded: 0xff << (8 - keep))
            }
        }
        return out
    }

    public var description: String { "\(self.network)/\(self.prefixLength)" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let range = IPRange(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a CIDR range: \(text.prefix(64))")
        }
        self = range
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }
}
