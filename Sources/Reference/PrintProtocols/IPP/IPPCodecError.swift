/// An IPP message that is not one (RFC 8010 §3), with the place in our code that noticed it.
///
/// A struct wrapping a private enum, so adding a case breaks no caller.
public struct IPPCodecError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case truncated(String)
        case malformed(String)
        case tooLarge(String)
    }

    private let code: Code
    public let file: String
    public let line: Int

    private init(_ code: Code, file: String, line: Int) {
        self.code = code
        self.file = file
        self.line = line
    }

    /// The message ends inside a field.
    public static func truncated(_ what: String, file: String = #fileID, line: Int = #line) -> Self {
        .init(.truncated(what), file: file, line: line)
    }
    /// A field has a value the grammar does not allow.
    public static func malformed(_ what: String, file: String = #fileID, line: Int = #line) -> Self {
        .init(.malformed(what), file: file, line: line)
    }
    /// Past a limit (attributes, values, nesting): refused rather than held in memory.
    public static func tooLarge(_ what: String, file: String = #fileID, line: Int = #line) -> Self {
        .init(.tooLarge(what), file: file, line: line)
    }

    public var description: String {
        switch self.code {
        case .truncated(let what): "IPP message truncated: \(what)"
        case .malformed(let what): "malformed IPP message: \(what)"
        case .tooLarge(let what): "IPP message too large: \(what)"
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
