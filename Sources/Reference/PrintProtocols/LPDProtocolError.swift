/// A violation of RFC 1179 by the peer, with the place in our code that noticed it.
///
/// A struct wrapping a private enum, so adding a case breaks no caller.
public struct LPDProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case unknownCommand(UInt8)
        case malformedCommand(String)
        case lineTooLong(Int)
        case countOutOfRange(String)
        case missingFileTerminator(UInt8)
        case truncated(String)
        case unexpectedCommand(String)
        case invalidControlFile(String)
        case fileTooLarge(UInt64)
    }

    private let code: Code
    /// Where the error was raised, for logs.
    public let file: String
    public let line: Int

    private init(_ code: Code, file: String, line: Int) {
        self.code = code
        self.file = file
        self.line = line
    }

    public static func unknownCommand(_ byte: UInt8, file: String = #fileID, line: Int = #line) -> Self {
        .init(.unknownCommand(byte), file: file, line: line)
    }
    public static func malformedCommand(_ reason: String, file: String = #fileID, line: Int = #line) -> Self {
        .init(.malformedCommand(reason), file: file, line: line)
    }
    public static func lineTooLong(_ limit: Int, file: String = #fileID, line: Int = #line) -> Self {
        .init(.lineTooLong(limit), file: file, line: line)
    }
    public static func countOutOfRange(_ text: String, file: String = #fileID, line: Int = #line) -> Self {
        .init(.countOutOfRange(text), file: file, line: line)
    }
    public static func missingFileTerminator(_ byte: UInt8, file: String = #fileID, line: Int = #line) -> Self {
        .init(.missingFileTerminator(byte), file: file, line: line)
    }
    public static func truncated(_ what: String, file: String = #fileID, line: Int = #line) -> Self {
        .init(.truncated(what), file: file, line: line)
    }
    public static func unexpectedCommand(_ what: String, file: String = #fileID, line: Int = #line) -> Self {
        .init(.unexpectedCommand(what), file: file, line: line)
    }
    public static func invalidControlFile(_ reason: String, file: String = #fileID, line: Int = #line) -> Self {
        .init(.invalidControlFile(reason), file: file, line: line)
    }
    public static func fileTooLarge(_ bytes: UInt64, file: String = #fileID, line: Int = #line) -> Self {
        .init(.fileTooLarge(bytes), file: file, line: line)
    }

    /// Errors compare by kind and detail, not by where they were raised.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        let what: String
        switch code {
        case .unknownCommand(let byte): what = "unknown LPD command byte 0x\(String(byte, radix: 16))"
        case .malformedCommand(let reason): what = "malformed LPD command: \(reason)"
        case .lineTooLong(let limit): what = "LPD command line longer than \(limit) bytes"
        case .countOutOfRange(let text): what = "file byte count out of range: \(text)"
        case .missingFileTerminator(let byte): what = "file not followed by a NUL byte (got 0x\(String(byte, radix: 16)))"
        case .truncated(let what2): what = "connection closed in the middle of \(what2)"
        case .unexpectedCommand(let what2): what = "unexpected \(what2)"
        case .invalidControlFile(let reason): what = "invalid control file: \(reason)"
        case .fileTooLarge(let bytes): what = "file of \(bytes) bytes exceeds the limit"
        }
        return "\(what) (\(file):\(line))"
    }
}
