/// A distinguished name in its RFC 4514 string form, compared the way AD compares DNs:
/// attribute types and values case-insensitively, spaces around separators ignored, and
/// escapes (`\,`, `\2C`) resolved.
///
/// It lives in Core rather than in the LDAP module because the targeting rules compare AD
/// group and OU DNs (DESIGN.md §3) and Core has no networking; LDAP depends on Core for it.
///
/// ```
/// distinguishedName = [ relativeDistinguishedName *( COMMA relativeDistinguishedName ) ]
/// relativeDistinguishedName = attributeTypeAndValue *( PLUS attributeTypeAndValue )
/// attributeTypeAndValue = attributeType EQUALS attributeValue
/// ```
public struct DistinguishedName: Hashable, Sendable, CustomStringConvertible, Codable {
    /// One `type=value` pair (multi-valued RDNs are kept as several pairs of one RDN).
    public struct AttributeTypeAndValue: Hashable, Sendable {
        public var type: String
        public var value: String
    }

    /// The RDNs, most specific first, with escapes resolved.
    public private(set) var rdns: [[AttributeTypeAndValue]]

    /// The canonical form used for comparison and as a dictionary key: lower case, no optional
    /// spaces, values re-escaped minimally.
    public let normalized: String

    /// The DN as given.
    public let description: String

    public init(_ string: String) throws {
        self.description = string
        self.rdns = try Self.parse(Array(string.utf8))
        self.normalized = Self.canonical(self.rdns)
    }

    /// The empty DN: the RootDSE's name.
    public static let root = DistinguishedName(rdns: [])

    init(rdns: [[AttributeTypeAndValue]]) {
        self.rdns = rdns
        self.normalized = Self.canonical(rdns)
        self.description = Self.render(rdns, lowercased: false)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.normalized == rhs.normalized }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.normalized) }

    /// The same DN written tidily: case kept, optional spaces dropped, values re-escaped
    /// minimally (`CN=Smith\, John,OU=Sales,DC=corp`). What the server stores and shows.
    public var tidied: DistinguishedName { DistinguishedName(rdns: self.rdns) }

    /// Every entry above this one, nearest first, ending with the top-level RDN (the root
    /// DN itself is not included).
    public var ancestors: [DistinguishedName] {
        (1..<max(1, self.rdns.count)).map { DistinguishedName(rdns: Array(self.rdns.dropFirst($0))) }
    }

    /// Why this DN is not fit to name a directory object, or nil if it is: it must not be
    /// empty, every attribute type must be a name (`cn`, `ou`, `dc`, …) or a numeric OID,
    /// and every value must be non-empty.
    public var validationProblem: String? {
        if self.rdns.isEmpty { return "the DN is empty" }
        for pair in self.rdns.joined() {
            if !Self.isAttributeType(pair.type) { return "'\(pair.type.prefix(64))' is not an attribute type (expected e.g. CN, OU, DC or an OID)" }
            if pair.value.isEmpty { return "the \(pair.type) component has no value" }
        }
        return nil
    }

    /// RFC 4512 §1.4: `descr = keystring` (a letter, then letters, digits and hyphens) or
    /// `numericoid = number 1*( DOT number )`.
    static func isAttributeType(_ type: String) -> Bool {
        let bytes = Array(type.utf8)
        guard let first = bytes.first else { return false }
        func isLetter(_ byte: UInt8) -> Bool { (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) }
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        if isLetter(first) {
            return bytes.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
        }
        let parts = type.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count >= 2 && parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy(isDigit) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a distinguished name: \(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }

    /// The DN of the parent entry; nil for the root.
    public var parent: DistinguishedName? {
        guard !self.rdns.isEmpty else { return nil }
        return DistinguishedName(rdns: Array(self.rdns.dropFirst()))
    }

    /// Whether `self` is `other` or lies beneath it.
    public func isDescendant(of other: DistinguishedName) -> Bool {
        guard self.rdns.count >= other.rdns.count else { return false }
        return other.rdns.isEmpty || self.normalized == other.normalized || self.normalized.hasSuffix("," + other.normalized)
    }

    /// Normalises a DN string, or returns the string lower-cased if it does not parse (so a
    /// malformed value in a filter simply matches nothing).
    public static func normalize(_ string: String) -> String {
        if let simple = Self.simpleNormalization(string) { return simple }
        return (try? DistinguishedName(string).normalized) ?? String(decoding: string.utf8.map(DNCase.fold), as: UTF8.self)
    }

    /// The common case, a DN already in canonical shape (`CN=x,OU=y,DC=z`: no escapes, no
    /// multi-valued RDNs, no optional spaces), normalises by lower-casing alone; this avoids a
    /// full parse for every comparison of DN-valued attributes such as member and memberOf.
    private static func simpleNormalization(_ string: String) -> String? {
        var previous: UInt8 = UInt8(ascii: ",")
        var equals = 0
        var commas = 0
        var folded = [UInt8]()
        folded.reserveCapacity(string.utf8.count)
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "+"), UInt8(ascii: ";"), UInt8(ascii: "\""), UInt8(ascii: "#"), UInt8(ascii: "<"), UInt8(ascii: ">"):
                return nil
            case UInt8(ascii: " ") where previous == UInt8(ascii: ",") || previous == UInt8(ascii: "="):
                return nil
            case UInt8(ascii: ",") where previous == UInt8(ascii: " "), UInt8(ascii: "=") where previous == UInt8(ascii: " "):
                return nil
            case UInt8(ascii: "="): equals += 1
            case UInt8(ascii: ","): commas += 1
            default: break
            }
            folded.append(DNCase.fold(byte))
            previous = byte
        }
        guard !folded.isEmpty, previous != UInt8(ascii: " "), equals == commas + 1 else { return nil }
        return String(decoding: folded, as: UTF8.self)
    }

    private static func canonical(_ rdns: [[AttributeTypeAndValue]]) -> String {
        Self.render(rdns, lowercased: true)
    }

    private static func render(_ rdns: [[AttributeTypeAndValue]], lowercased: Bool) -> String {
        rdns.map { rdn in
            rdn.map { pair in
                let type = lowercased ? String(decoding: pair.type.utf8.map(DNCase.fold), as: UTF8.self) : pair.type
                let value = lowercased ? String(decoding: pair.value.utf8.map(DNCase.fold), as: UTF8.self) : pair.value
                return type + "=" + Self.escapeValue(value)
            }.joined(separator: "+")
        }.joined(separator: ",")
    }

    /// Escapes an attribute value for a DN string (RFC 4514 §2.4).
    public static func escapeValue(_ value: String) -> String {
        var out = ""
        let scalars = Array(value.unicodeScalars)
        for (offset, scalar) in scalars.enumerated() {
            switch scalar {
            case ",", "+", "\"", "\\", "<", ">", ";", "=":
                out += "\\" + String(scalar)
            case "#" where offset == 0, " " where offset == 0 || offset == scalars.count - 1:
                out += "\\" + String(scalar)
            case "\u{0}":
                out += "\\00"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func parse(_ bytes: [UInt8]) throws -> [[AttributeTypeAndValue]] {
        var rdns: [[AttributeTypeAndValue]] = []
        var current: [AttributeTypeAndValue] = []
        var index = 0
        func skipSpaces() { while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 } }
        skipSpaces()
        if index == bytes.count { return [] }
        while true {
            skipSpaces()
            let typeStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "=") { index += 1 }
            guard index < bytes.count else { throw DistinguishedNameError.malformed("a DN component has no '=' (expected TYPE=value, e.g. CN=Printing)") }
            let type = String(decoding: bytes[typeStart..<index], as: UTF8.self).trimmingSpaces()
            guard !type.isEmpty else { throw DistinguishedNameError.malformed("a DN component has no attribute type before '='") }
            index += 1
            skipSpaces()
            var value: [UInt8] = []
            var trailingSpaces = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ";") { break }
                if byte == UInt8(ascii: "\\") {
                    guard index + 1 < bytes.count else { throw DistinguishedNameError.malformed("the DN ends with an unfinished escape '\\'") }
                    if index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                        value.append(high << 4 | low)
                        index += 3
                    } else {
                        value.append(bytes[index + 1])
                        index += 2
                    }
                    trailingSpaces = 0
                    continue
                }
                value.append(byte)
                trailingSpaces = byte == UInt8(ascii: " ") ? trailingSpaces + 1 : 0
                index += 1
            }
            value.removeLast(trailingSpaces)
            current.append(AttributeTypeAndValue(type: type, value: String(decoding: value, as: UTF8.self)))
            if index == bytes.count {
                rdns.append(current)
                return rdns
            }
            if bytes[index] != UInt8(ascii: "+") {
                rdns.append(current)
                current = []
            }
            index += 1
        }
    }
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// ASCII case folding, the way AD compares DNs (non-ASCII letters compare as they are).
enum DNCase {
    @inline(__always)
    static func fold(_ byte: UInt8) -> UInt8 { (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte }
}

/// Why a string is not an RFC 4514 distinguished name.
public struct DistinguishedNameError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable { case malformed }
    private let code: Code
    /// A sentence for humans.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The text does not follow the RFC 4514 grammar.
    public static func malformed(_ message: String) -> Self { Self(.malformed, message) }

    public var description: String { self.message }

    /// Errors compare by kind only.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var slice = Substring(self)
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return String(slice)
    }
}
