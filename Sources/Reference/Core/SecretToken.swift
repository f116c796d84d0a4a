import Crypto
import Foundation

/// A bearer secret: an enrollment token, a device credential or the admin key.
///
/// Format: `<prefix>_<43 base64url characters>` carrying 256 random bits. The prefix
/// tells a human (and a secret scanner) what leaked; the server never stores the
/// secret itself, only ``sha256Hex``, and compares digests in constant time.
public struct SecretToken: Sendable, Hashable, CustomStringConvertible {
    /// What a secret is for; its raw value is the visible prefix.
    public enum Kind: String, Sendable, CaseIterable {
        /// Shown once to an admin, pasted into `printplane agent enroll`.
        case enrollment = "ppe"
        /// Issued to one agent at enrollment; sent as `Authorization: Bearer`.
        case device = "ppd"
        /// The admin API key in `DATA_DIR/admin.key`.
        case admin = "ppa"
    }

    /// The full secret, prefix included.
    public let value: String
    /// What it is for.
    public let kind: Kind

    static let secretByteCount = 32
    static let encodedLength = 43  // base64url of 32 bytes, unpadded

    /// A fresh secret with 256 bits from the system CSPRNG.
    public static func generate(_ kind: Kind) -> SecretToken {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<secretByteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return SecretToken(unchecked: "\(kind.rawValue)_\(Base64URL.encode(bytes))", kind: kind)
    }

    private init(unchecked value: String, kind: Kind) {
        self.value = value
        self.kind = kind
    }

    /// Parses a presented secret; `nil` unless it has a known prefix and the exact shape.
    public init?(parsing text: some StringProtocol) {
        let text = String(text)
        guard text.utf8.count == 4 + Self.encodedLength,
              let underscore = text.firstIndex(of: "_"),
              let kind = Kind(rawValue: String(text[..<underscore])),
              text[text.index(after: underscore)...].utf8.allSatisfy(Base64URL.isAlphabet)
        else { return nil }
        self.init(unchecked: text, kind: kind)
    }

    /// The lowercase hex SHA-256 of the whole secret: the only form that is stored.
    public var sha256Hex: String { Self.sha256Hex(of: self.value) }

    /// The lowercase hex SHA-256 of any string.
    public static func sha256Hex(of text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).hexString
    }

    /// A short, non-secret handle for logs and listings (the prefix and first 6 characters).
    public var hint: String { String(self.value.prefix(10)) }

    public var description: String { "\(self.kind.rawValue)_…" }

    /// Compares two byte strings in time that depends only on their lengths.
    public static func constantTimeEquals(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(lhs, rhs) { difference |= a ^ b }
        return difference == 0
    }
}

/// RFC 4648 §5 base64url without padding.
public enum Base64URL {
    /// Encodes bytes without `=` padding.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes unpadded base64url; `nil` on any other character.
    public static func decode(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy(isAlphabet) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }

    static func isAlphabet(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal, two characters per byte.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
