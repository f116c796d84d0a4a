/// Counts the pages of a PostScript document from its Document Structuring
/// Conventions (Adobe DSC 3.0, technical note #5001).
///
/// - Every `%%Page:` comment at the start of a line, outside an embedded
///   document (`%%BeginDocument` … `%%EndDocument`) or binary/data section,
///   is one page.
/// - Without any `%%Page:`, the last `%%Pages: N` (the header one, or the
///   trailer one when the header said `(atend)`) is used.
/// - Without either, the page count is unknown: PostScript is a programming
///   language and counting `showpage` would be a guess.
///
/// Copies come from `/NumCopies n` (a `setpagedevice` entry) or `/#copies n`,
/// outside strings and comments; the last one wins.
struct PostScriptPageScanner: Sendable {
    private var pageComments = 0
    private var declaredPages: Int?
    private var embedDepth = 0
    private(set) var copies: Int?
    private let maxCopies: Int

    // Line state for DSC comments.
    private var atLineStart = true
    private var capturingLine = false
    private var line: [UInt8] = []
    private static let maxLineBytes = 96

    // A light tokenizer, only to find `/NumCopies` and `/#copies` outside strings and comments.
    private enum Lexical: UInt8, Sendable {
        case code, comment, string, stringEscape, ascii85
    }
    private var lexical = Lexical.code
    private var stringDepth = 0
    private var sawLessThan = false
    private var sawTilde = false
    private var name: [UInt8] = []
    private var capturingName = false
    private var expectingCopies = false
    private var copiesDigits = 0
    private var copiesValue = 0

    /// Bytes that may change the lexer's state (CR LF % ( ) \\ / < > ~); they also end a name.
    @inline(__always)
    private static func isInteresting(_ byte: UInt8) -> Bool {
        // Bit masks over 0..<64 and 64..<128: one shift and test per byte.
        let low: UInt64 = (1 << 0x0D) | (1 << 0x0A) | (1 << 0x25) | (1 << 0x28) | (1 << 0x29) | (1 << 0x2F)
            | (1 << 0x3C) | (1 << 0x3E)
        let high: UInt64 = (1 << (0x5C - 64)) | (1 << (0x7E - 64))
        if byte < 64 { return (low >> UInt64(byte)) & 1 != 0 }
        if byte < 128 { return (high >> UInt64(byte - 64)) & 1 != 0 }
        return false
    }

    init(maxCopies: Int) {
        self.maxCopies = maxCopies
        self.line.reserveCapacity(Self.maxLineBytes)
    }

    /// Pages of one copy, or nil when the document carries no DSC page information.
    var pages: Int? {
        pageComments > 0 ? pageComments : declaredPages
    }

    mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        while index < count {
            // Fast path: nothing pending, so skip to the next byte that can change the state.
            // Line ends are not stops (except in comments, which they end): a DSC line is a
            // `%` whose previous byte ends a line, which is checked at the `%` itself. On
            // documents of short lines that is what keeps counting near `memchr` speed.
            if !capturingLine && !capturingName && !expectingCopies && !sawLessThan && !sawTilde && lexical != .stringEscape {
                let from = index
                switch lexical {
                case .code: index = ByteScan.firstIndex(of: CodeStops.self, in: bytes, from: index)
                case .string: index = ByteScan.firstIndex(of: StringStops.self, in: bytes, from: index)
                case .comment: index = ByteScan.firstIndex(of: LineStops.self, in: bytes, from: index)
                case .ascii85: index = ByteScan.firstIndex(of: ASCII85Stops.self, in: bytes, from: index)
                case .stringEscape: break
                }
                // Skipped bytes are never stops, so only the last one says whether the next
                // byte starts a line.
                if index > from { atLineStart = Self.isEndOfLine(bytes[index - 1]) }
                if index == count { return }
            }
            step(bytes[index])
            index += 1
        }
    }

    @inline(__always)
    private static func isEndOfLine(_ byte: UInt8) -> Bool {
        byte == ByteScan.lineFeed || byte == ByteScan.carriageReturn
    }

    /// Call at the end of the document so a last line without a newline still counts.
    mutating func finish() {
        if capturingLine { endLine() }
        finishName()
        finishCopies()
    }

    @inline(__always)
    private mutating func step(_ byte: UInt8) {
        let isEndOfLine = Self.isEndOfLine(byte)

        // DSC lines: a '%' as the first byte of a line starts a capture to end of line.
        if capturingLine {
            if isEndOfLine {
                endLine()
            } else if line.count < Self.maxLineBytes {
                line.append(byte)
            }
        } else if atLineStart && byte == UInt8(ascii: "%") {
            capturingLine = true
            line.removeAll(keepingCapacity: true)
            line.append(byte)
        }
        atLineStart = isEndOfLine

        lex(byte, isEndOfLine: isEndOfLine)
    }

    private mutating func lex(_ byte: UInt8, isEndOfLine: Bool) {
        switch lexical {
        case .comment:
            if isEndOfLine { lexical = .code }
            return
        case .stringEscape:
            lexical = .string
            return
        case .string:
            switch byte {
            case UInt8(ascii: "\\"): lexical = .stringEscape
            case UInt8(ascii: "("): stringDepth += 1
            case UInt8(ascii: ")"):
                stringDepth -= 1
                if stringDepth <= 0 {
                    stringDepth = 0
                    lexical = .code
                }
            default: break
            }
            return
        case .ascii85:
            if sawTilde && byte == UInt8(ascii: ">") {
                lexical = .code
                sawTilde = false
            } else {
                sawTilde = byte == UInt8(ascii: "~")
            }
            return
        case .code:
            break
        }

        if sawLessThan {
            sawLessThan = false
            if byte == UInt8(ascii: "~") {
                lexical = .ascii85
                sawTilde = false
                return
            }
        }

        let isDelimiter = ByteScan.isWhiteSpace(byte) || Self.isInteresting(byte)
            || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]")
            || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}")

        if capturingName {
            if isDelimiter {
                finishName()
                if expectingCopies && ByteScan.isWhiteSpace(byte) { return }
                // `/NumCopies/Foo` or `/NumCopies(x)`: the value is not an integer.
                expectingCopies = false
            } else {
                if name.count < 16 { name.append(byte) } else { capturingName = false }
                return
            }
        } else if expectingCopies {
            if ByteScan.isDigit(byte) {
                copiesValue = ByteScan.saturatingDecimalStep(copiesValue, byte)
                copiesDigits += 1
                return
            } else if ByteScan.isWhiteSpace(byte) && copiesDigits == 0 {
                return
            } else if isDelimiter {
                finishCopies()
            } else {
                // `/NumCopies 2.5` or `/NumCopies null`: not a count.
                expectingCopies = false
            }
        }

        switch byte {
        case UInt8(ascii: "%"): lexical = .comment
        case UInt8(ascii: "("):
            lexical = .string
            stringDepth = 1
        case UInt8(ascii: "<"): sawLessThan = true
        case UInt8(ascii: "/"):
            capturingName = true
            name.removeAll(keepingCapacity: true)
        default: break
        }
    }

    private mutating func finishName() {
        guard capturingName else { return }
        capturingName = false
        if ByteScan.equals(name, "NumCopies") || ByteScan.equals(name, "#copies") {
            expectingCopies = true
            copiesDigits = 0
            copiesValue = 0
        }
    }

    private mutating func finishCopies() {
        guard expectingCopies else { return }
        expectingCopies = false
        if copiesDigits > 0, embedDepth == 0, (1...maxCopies).contains(copiesValue) {
            copies = copiesValue
        }
    }

    private mutating func endLine() {
        capturingLine = false
        guard line.count >= 3, line[1] == UInt8(ascii: "%") else { return }
        if ByteScan.hasPrefix(line, "%%Page:") {
            if embedDepth == 0 {
                pageComments += 1
                // A conforming page starts with no string or comment open; resynchronise.
                lexical = .code
                stringDepth = 0
            }
        } else if ByteScan.hasPrefix(line, "%%Pages:") {
            if embedDepth == 0, let value = Self.firstInteger(line.dropFirst(8)) {
                declaredPages = value
            }
        } else if ByteScan.hasPrefix(line, "%%BeginDocument") || ByteScan.hasPrefix(line, "%%BeginData")
            || ByteScan.hasPrefix(line, "%%BeginBinary")
        {
            embedDepth = min(embedDepth + 1, 64)
        } else if ByteScan.hasPrefix(line, "%%EndDocument") || ByteScan.hasPrefix(line, "%%EndData")
            || ByteScan.hasPrefix(line, "%%EndBinary")
        {
            embedDepth = max(embedDepth - 1, 0)
        }
    }

    /// The first integer after optional spaces, or nil (e.g. for `(atend)`).
    private static func firstInteger(_ bytes: ArraySlice<UInt8>) -> Int? {
        var digits = bytes.drop { $0 == ByteScan.space || $0 == ByteScan.tab }
        digits = digits.prefix { ByteScan.isDigit($0) }
        guard let value = ByteScan.decimal(digits), value <= ByteScan.decimalCeiling else { return nil }
        return value
    }
}

/// Where PostScript code can change the scanner's state: comments (and DSC lines), strings, names, `<~`.
private enum CodeStops: StopBytes {
    @inline(__always)
    static func matches(_ vector: SIMD16<UInt8>) -> SIMDMask<SIMD16<Int8>> {
        (vector .== SIMD16(repeating: 0x25)) .| (vector .== SIMD16(repeating: 0x28)) .| (vector .== SIMD16(repeating: 0x2F)) .| (vector .== SIMD16(repeating: 0x3C))
    }
    @inline(__always)
    static func contains(_ byte: UInt8) -> Bool { byte == 0x25 || byte == 0x28 || byte == 0x2F || byte == 0x3C }
}

/// Inside a string: nesting, escapes, and `%` (a DSC line may start inside a string).
private enum StringStops: StopBytes {
    @inline(__always)
    static func matches(_ vector: SIMD16<UInt8>) -> SIMDMask<SIMD16<Int8>> {
        (vector .== SIMD16(repeating: 0x28)) .| (vector .== SIMD16(repeating: 0x29)) .| (vector .== SIMD16(repeating: 0x5C)) .| (vector .== SIMD16(repeating: 0x25))
    }
    @inline(__always)
    static func contains(_ byte: UInt8) -> Bool { byte == 0x28 || byte == 0x29 || byte == 0x5C || byte == 0x25 }
}

/// Inside a comment: only the line end.
private enum LineStops: StopBytes {
    @inline(__always)
    static func matches(_ vector: SIMD16<UInt8>) -> SIMDMask<SIMD16<Int8>> { (vector .== SIMD16(repeating: 0x0A)) .| (vector .== SIMD16(repeating: 0x0D)) }
    @inline(__always)
    static func contains(_ byte: UInt8) -> Bool { byte == 0x0A || byte == 0x0D }
}

/// Inside ASCII85 data: the `~>` end, and `%` (a DSC line may start here).
private enum ASCII85Stops: StopBytes {
    @inline(__always)
    static func matches(_ vector: SIMD16<UInt8>) -> SIMDMask<SIMD16<Int8>> {
        (vector .== SIMD16(repeating: 0x7E)) .| (vector .== SIMD16(repeating: 0x3E)) .| (vector .== SIMD16(repeating: 0x25))
    }
    @inline(__always)
    static func contains(_ byte: UInt8) -> Bool { byte == 0x7E || byte == 0x3E || byte == 0x25 }
}
