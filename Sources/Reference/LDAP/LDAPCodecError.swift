/// Why bytes from the wire could not become an ``LDAPMessage`` (or a filter string could not
/// become an ``LDAPFilter``).
///
/// Every codec error is a protocol error in the sense of RFC 4511 §4.1.1: the peer that
/// receives one answers with a Notice of Disconnection (protocolError) and closes the
/// connection. The error carries the source location that raised it, so a fuzzer finding or a
/// bug report points straight at the check that fired.
public struct LDAPCodecError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case truncated
        case lengthPastEnd
        case indefiniteLength
        case lengthPrefixTooLong
        case messageTooLarge
        case nestingTooDeep
        case unexpectedTag
        case malformed
        case invalidFilter
    }

    private let code: Code
    /// A sentence for humans; it is also sent as the diagnostic message of the disconnect notice.
    public let reason: String
    /// Where the error was raised (`#fileID`).
    public let file: String
    /// Where the error was raised (`#line`).
    public let line: UInt

    private init(_ code: Code, _ reason: String, file: String, line: UInt) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { "LDAPCodecError.\(self.code): \(self.reason) (\(self.file):\(self.line))" }

    /// Errors compare by kind only, so tests can match `LDAPCodecError.truncated()`.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    /// The input ended inside an element (only raised for complete buffers, e.g. by the fuzzer entry point).
    public static func truncated(_ reason: String = "input ended inside a BER element", file: String = #fileID, line: UInt = #line) -> Self {
        Self(.truncated, reason, file: file, line: line)
    }

    /// An inner element claims more bytes than its enclosing element holds.
    public static func lengthPastEnd(_ reason: String = "element length runs past the end of its container", file: String = #fileID, line: UInt = #line) -> Self {
        Self(.lengthPastEnd, reason, file: file, line: line)
    }

    /// RFC 4511 §5.1 allows only the definite form of length encoding.
    public static func indefiniteLength(file: String = #fileID, line: UInt = #line) -> Self {
        Self(.indefiniteLength, "indefinite-length encoding is not allowed in LDAP (RFC 4511 §5.1)", file: file, line: line)
    }

    /// A long-form length used more octets than any acceptable message size needs.
    public static func lengthPrefixTooLong(octets: Int, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.lengthPrefixTooLong, "length prefix of \(octets) octets is too long", file: file, line: line)
    }

    /// A message declared a size above the configured maximum; it is refused before buffering.
    public static func messageTooLarge(length: UInt64, maximum: Int, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.messageTooLarge, "message of \(length) bytes exceeds the maximum of \(maximum)", file: file, line: line)
    }

    /// Constructed elements nest deeper than the configured limit.
    public static func nestingTooDeep(limit: Int, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.nestingTooDeep, "BER elements nest deeper than \(limit) levels", file: file, line: line)
    }

    /// An element carried a tag that the grammar does not allow at that position.
    public static func unexpectedTag(_ reason: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.unexpectedTag, reason, file: file, line: line)
    }

    /// The element has the right tag but its content breaks the grammar.
    public static func malformed(_ reason: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.malformed, reason, file: file, line: line)
    }

    /// An RFC 4515 string filter could not be parsed.
    public static func invalidFilter(_ reason: String, file: String = #fileID, line: UInt = #line) -> Self {
        Self(.invalidFilter, reason, file: file, line: line)
    }
}
