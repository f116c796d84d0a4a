/// A streaming tokenizer for PDF's object syntax (ISO 32000-1 §7.2–7.3),
/// just detailed enough to follow dictionaries, arrays, references and the
/// keywords around objects. It keeps its state between chunks, so a token split
/// across two chunks comes out whole.
struct PDFLexer: Sendable {
    /// One token. Names, keywords and integers keep their text in `PDFLexer.text`.
    enum Token: Equatable, Sendable {
        case dictionaryOpen, dictionaryClose, arrayOpen, arrayClose
        /// `/Name`; the text (without the slash) is in `text`.
        case name
        /// An integer that fits; `value` holds it.
        case integer(Int)
        /// A bare word: `obj`, `endobj`, `stream`, `R`, `trailer`, `true`, …; text in `text`.
        case keyword
        /// A real number, string, hex string, procedure brace or an over-long token.
        case other
    }

    private enum State: UInt8, Sendable {
        case normal, comment, string, stringEscape, hexString, lessThan, greaterThan, name, regular
    }

    private var state = State.normal
    private var stringDepth = 0
    /// The text of the name or regular token being read (without a name's slash).
    private(set) var text: [UInt8] = []
    private var textOverflow = false
    static let maxTokenBytes = 64

    init() {
        text.reserveCapacity(Self.maxTokenBytes)
    }

    /// Reads from `bytes[index...]` until one token is complete (returned, `index`
    /// just past it) or the bytes run out (nil; the partial token is kept).
    mutating func next(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Token? {
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            switch state {
            case .normal:
                index += 1
                switch byte {
                case 0x00, 0x09, 0x0A, 0x0C, 0x0D, 0x20:
                    continue
                case UInt8(ascii: "%"):
                    state = .comment
                case UInt8(ascii: "("):
                    state = .string
                    stringDepth = 1
                case UInt8(ascii: "<"):
                    state = .lessThan
                case UInt8(ascii: ">"):
                    state = .greaterThan
                case UInt8(ascii: "["):
                    return .arrayOpen
                case UInt8(ascii: "]"):
                    return .arrayClose
                case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ")"):
                    return .other
                case UInt8(ascii: "/"):
                    state = .name
                    startText()
                default:
                    state = .regular
                    startText()
                    appendText(byte)
                }
            case .comment:
                // Skip to the end of the line in one jump.
                let lineFeed = ByteScan.firstIndex(of: ByteScan.lineFeed, in: bytes, from: index) ?? count
                let carriageReturn =
                    ByteScan.firstIndex(of: ByteScan.carriageReturn, in: bytes, from: index, to: lineFeed) ?? lineFeed
                if carriageReturn == count {
                    index = count
                } else {
                    index = carriageReturn + 1
                    state = .normal
                }
            case .string:
                index += 1
                switch byte {
                case UInt8(ascii: "\\"): state = .stringEscape
                case UInt8(ascii: "("): stringDepth += 1
                case UInt8(ascii: ")"):
                    stringDepth -= 1
                    if stringDepth == 0 {
                        state = .normal
                        return .other
                    }
                default: break
                }
            case .stringEscape:
                index += 1
                state = .string
            case .hexString:
                guard let end = ByteScan.firstIndex(of: UInt8(ascii: ">"), in: bytes, from: index) else {
                    index = count
                    return nil
                }
                index = end + 1
                state = .normal
                return .other
            case .lessThan:
                if byte == UInt8(ascii: "<") {
                    index += 1
                    state = .normal
                    return .dictionaryOpen
                }
                state = .hexString
            case .greaterThan:
                state = .normal
                if byte == UInt8(ascii: ">") {
                    index += 1
                    return .dictionaryClose
                }
            // A lone '>' is malformed; ignore it.
            case .name, .regular:
                if Self.isDelimiter(byte) {
                    return finishText()
                }
                index += 1
                appendText(byte)
            }
        }
        return nil
    }

    /// The token pending at the end of the data, if any.
    mutating func finish() -> Token? {
        switch state {
        case .name, .regular:
            return finishText()
        case .greaterThan:
            state = .normal
            return nil
        default:
            return nil
        }
    }

    /// Forgets any partial token, e.g. when stream data begins.
    mutating func reset() {
        state = .normal
        text.removeAll(keepingCapacity: true)
        textOverflow = false
    }

    @inline(__always)
    private mutating func startText() {
        text.removeAll(keepingCapacity: true)
        textOverflow = false
    }

    @inline(__always)
    private mutating func appendText(_ byte: UInt8) {
        if text.count < Self.maxTokenBytes { text.append(byte) } else { textOverflow = true }
    }

    private mutating func finishText() -> Token {
        let wasName = state == .name
        state = .normal
        if textOverflow { return .other }
        if wasName { return .name }
        if let value = Self.integer(text) { return .integer(value) }
        if let first = text.first, ByteScan.isDigit(first) || first == UInt8(ascii: "-") || first == UInt8(ascii: "+")
            || first == UInt8(ascii: ".")
        {
            return .other  // a real number
        }
        return .keyword
    }

    private static func integer(_ text: [UInt8]) -> Int? {
        guard !text.isEmpty, text.count <= 15 else { return nil }
        var digits = text[...]
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard let magnitude = ByteScan.decimal(digits) else { return nil }
        return negative ? -magnitude : magnitude
    }

    @inline(__always)
    static func isDelimiter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x00, 0x09, 0x0A, 0x0C, 0x0D, 0x20,
            UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"),
            UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"),
            UInt8(ascii: "/"), UInt8(ascii: "%"):
            return true
        default:
            return false
        }
    }
}
