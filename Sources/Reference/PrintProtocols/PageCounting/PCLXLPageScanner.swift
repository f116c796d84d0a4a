/// Counts the pages of a PCL XL (PCL 6) stream: one page per `EndPage`
/// operator, each printed with the `PageCopies` it carries or, failing that,
/// the PJL `COPIES` in effect (as GhostPCL's `pxEndPage` and HP printers do).
///
/// The stream is tokenised as the binary protocol defines it (HP "PCL XL
/// Feature Reference Protocol Class 2.0/2.1/3.0"; syntax checks as GhostPCL's
/// `pxparse.c`, see `PCLXLSyntax`):
///
///     stream header   ( or )  " HP-PCL XL;" class ";" … LF    ( = high byte first, ) = low byte first
///     value           tag (0xC0…0xC5, 0xD0…0xD5, 0xE0…0xE5) + 1…16 bytes
///     array           tag (0xC8…0xCD) + length (0xC0 ubyte | 0xC1 uint16) + length × element size
///     attribute ID    0xF8 + ubyte | 0xF9 + uint16, naming the value before it
///     operator        0x41…0xBF, taking the attributes before it
///     embedded data   0xFA + uint32 length | 0xFB + ubyte length, then that many bytes
///
/// Embedded data (images, glyphs, fonts, stream bodies) is skipped by its
/// length, never searched, so an `0x44` inside a compressed image is not a page.
///
/// The count is only known for a stream that is whole and well formed: a
/// valid header, every token legal in its state, every session ended
/// (`EndSession`), and nothing cut off. Anything else — garbage, a truncated
/// job, an illegal tag or operator sequence, which a printer answers with an
/// error page — makes `pages` nil. So do two things whose pages cannot be
/// known without interpreting the job: `ExecStream` (a user-defined stream may
/// itself begin and end pages) and `Passthrough` (embedded PCL 5 may eject pages).
struct PCLXLPageScanner: Sendable {
    private enum State: UInt8, Sendable {
        /// Matching the fixed start of the stream header.
        case header
        /// Skipping the rest of the header line, up to its line feed.
        case headerLine
        /// At a token boundary.
        case tag
        /// Reading the bytes after a tag into `operand`.
        case operand
        /// Expecting an array's length tag (0xC0 or 0xC1).
        case arrayLength
        /// Skipping `skipRemaining` bytes of array elements or embedded data.
        case skip
        /// Nothing more can change the answer: the count is unknown.
        case failed
    }

    /// What the bytes in `operand` are for.
    private enum Operand: UInt8, Sendable {
        case value, arrayLength, attribute, dataLength
    }

    /// `) HP-PCL XL;` after the binding byte; then a protocol class GhostPCL
    /// supports (1, 2 or 3) and `;`.
    private static let headerText: [UInt8] = Array(" HP-PCL XL;".utf8)

    private var state = State.header
    private var headerMatched = 0
    private var bigEndian = false

    // The token being read.
    private var operandKind = Operand.value
    private var operandNeeded = 0
    private var operandRead = 0
    private var operand: UInt64 = 0
    private var operandTag: UInt8 = 0
    private var arrayElementSize = 0
    private var skipRemaining = 0

    /// GhostPCL's parser state bits (see `PCLXLSyntax`).
    private var syntaxState: UInt8 = 0
    /// The previous token was an operator (whose embedded data may follow).
    private var afterOperator = false

    // The last value read, kept for the attribute ID that names it.
    private var lastValueTag: UInt8 = 0
    private var lastValue: UInt64 = 0

    // Attributes of the operator being built.
    private var attributesPending = false
    private var pageCopies: Int?
    private var pageCopiesInvalid = false
    private var vendorDataLength = 0

    private let defaultCopies: Int
    private let maxCopies: Int

    /// Pages ended so far.
    private var ended = 0
    /// Sum over ended pages of each page's copies.
    private(set) var impressions = 0
    /// The copies every page was printed with, or nil once two pages disagree.
    private(set) var uniformCopies: Int?
    private var sawPage = false
    private var sessionsEnded = 0
    private var complete = false

    init(defaultCopies: Int, maxCopies: Int) {
        self.defaultCopies = defaultCopies
        self.maxCopies = maxCopies
        self.uniformCopies = defaultCopies
    }

    /// Pages of one copy, or nil when the stream is not a whole, well-formed PCL XL job.
    var pages: Int? { complete ? ended : nil }

    /// The copies to report when no page was printed: the PJL default.
    var lastCopies: Int { sawPage ? (uniformCopies ?? defaultCopies) : defaultCopies }

    mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        while index < count {
            switch state {
            case .tag:
                index = scanTags(bytes, from: index)
            case .skip:
                let take = min(skipRemaining, count - index)
                index += take
                skipRemaining -= take
                if skipRemaining == 0 { endSkip() }
            case .operand:
                while index < count && operandRead < operandNeeded {
                    let byte = UInt64(bytes[index])
                    if bigEndian {
                        operand = operand << 8 | byte
                    } else {
                        operand |= byte << (8 * UInt64(operandRead))
                    }
                    operandRead += 1
                    index += 1
                }
                if operandRead == operandNeeded { endOperand() }
            case .arrayLength:
                let byte = bytes[index]
                index += 1
                guard byte == 0xC0 || byte == 0xC1 else { return fail() }
                beginOperand(.arrayLength, bytes: byte == 0xC0 ? 1 : 2)
            case .header:
                index = matchHeader(bytes, from: index)
            case .headerLine:
                guard let lineFeed = ByteScan.firstIndex(of: ByteScan.lineFeed, in: bytes, from: index) else { return }
                index = lineFeed + 1
                state = .tag
            case .failed:
                return
            }
        }
    }

    /// The end of the document: the count stands only if the stream ended between
    /// sessions, after at least one, with no attribute left waiting for its operator.
    mutating func finish() {
        complete = state == .tag && syntaxState == 0 && !attributesPending && sessionsEnded > 0
    }

    // MARK: - Header

    private mutating func matchHeader(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            let position = headerMatched
            headerMatched += 1
            switch position {
            case 0:
                // `(` binary high byte first, `)` low byte first; the ASCII binding is not supported.
                guard byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") else { fail(); return index }
                bigEndian = byte == UInt8(ascii: "(")
            case 1...Self.headerText.count:
                guard byte == Self.headerText[position - 1] else { fail(); return index }
            case Self.headerText.count + 1:
                guard byte >= UInt8(ascii: "1") && byte <= UInt8(ascii: "3") else { fail(); return index }
            default:
                guard byte == UInt8(ascii: ";") else { fail(); return index }
                state = .headerLine
                return index
            }
        }
        return index
    }

    // MARK: - Tokens

    /// Reads tokens until one needs more bytes than this chunk has (or data to skip).
    private mutating func scanTags(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let count = bytes.count
        let table = PCLXLSyntax.table
        while index < count {
            let tag = bytes[index]
            index += 1
            let entry = table[Int(tag)]
            if entry.kind == .whiteSpace { continue }
            if entry.kind == .illegal || entry.kind == .escape {
                fail()
                return count
            }
            guard syntaxState & entry.mask == entry.value else {
                fail()
                return count
            }
            syntaxState ^= entry.transition
            let wasAfterOperator = afterOperator
            afterOperator = false
            switch entry.kind {
            case .operator:
                guard perform(tag) else { return count }
                afterOperator = true
                if state != .tag { return index }
            case .value:
                operandTag = tag
                let size = Int(entry.size)
                // The common case, a whole scalar in this chunk: read it in place.
                if index + size <= count {
                    var value: UInt64 = 0
                    for offset in 0..<min(size, 8) {
                        let byte = UInt64(bytes[index + offset])
                        value = bigEndian ? value << 8 | byte : value | byte << (8 * UInt64(offset))
                    }
                    index += size
                    lastValueTag = tag
                    lastValue = value
                } else {
                    beginOperand(.value, bytes: size)
                    return index
                }
            case .array:
                arrayElementSize = Int(entry.size)
                state = .arrayLength
                return index
            case .attribute:
                beginOperand(.attribute, bytes: Int(entry.size))
                return index
            case .data:
                // Embedded data belongs to the operator just read; elsewhere only an empty block is legal.
                afterOperator = wasAfterOperator
                beginOperand(.dataLength, bytes: Int(entry.size))
                return index
            case .illegal, .whiteSpace, .escape:
                break
            }
        }
        return index
    }

    private mutating func beginOperand(_ kind: Operand, bytes: Int) {
        operandKind = kind
        operandNeeded = bytes
        operandRead = 0
        operand = 0
        state = .operand
    }

    private mutating func endOperand() {
        state = .tag
        switch operandKind {
        case .value:
            lastValueTag = operandTag
            // xy pairs and boxes overflow 8 bytes; only scalars are read as numbers.
            lastValue = operand
        case .arrayLength:
            lastValueTag = 0xC8
            let (length, overflow) = Int(operand).multipliedReportingOverflow(by: arrayElementSize)
            if overflow { return fail() }
            startSkip(length)
        case .attribute:
            attribute(Int(operand))
        case .dataLength:
            let length = Int(operand)
            if length == 0 { return }
            guard afterOperator else { return fail() }
            afterOperator = false
            startSkip(length)
        }
    }

    private mutating func startSkip(_ length: Int) {
        if length == 0 {
            endSkip()
        } else {
            skipRemaining = length
            state = .skip
        }
    }

    private mutating func endSkip() {
        state = .tag
    }

    /// The attribute ID after a value: remember the values EndPage and VendorUnique use.
    private mutating func attribute(_ id: Int) {
        attributesPending = true
        switch id {
        case PCLXLSyntax.pageCopies:
            // GhostPCL accepts PageCopies only as a uint16 scalar.
            if lastValueTag == 0xC1 {
                pageCopies = Int(lastValue)
                pageCopiesInvalid = false
            } else {
                pageCopiesInvalid = true
            }
        case PCLXLSyntax.vendorUniqueDataLength:
            vendorDataLength = [0xC0, 0xC1, 0xC2].contains(lastValueTag) ? Int(lastValue) : 0
        default:
            break
        }
    }

    /// Acts on an operator; false when the count is now unknown.
    private mutating func perform(_ tag: UInt8) -> Bool {
        defer {
            attributesPending = false
            pageCopies = nil
            pageCopiesInvalid = false
            vendorDataLength = 0
        }
        switch tag {
        case PCLXLSyntax.endPage:
            if pageCopiesInvalid {
                fail()
                return false
            }
            let copies = pageCopies ?? defaultCopies
            // PageCopies 0 prints nothing on some devices and is an error on others: not knowable.
            guard (1...maxCopies).contains(copies) else {
                fail()
                return false
            }
            endPage(copies: copies)
        case PCLXLSyntax.endSession:
            sessionsEnded += 1
        case PCLXLSyntax.vendorUnique:
            // Its data follows at once, without an embedded-data tag (GhostPCL pxparse.c).
            if vendorDataLength > 0 {
                afterOperator = false
                startSkip(vendorDataLength)
            }
        case PCLXLSyntax.execStream, PCLXLSyntax.passthrough:
            fail()
            return false
        default:
            break
        }
        return true
    }

    private mutating func endPage(copies: Int) {
        ended = min(ended + 1, ByteScan.decimalCeiling)
        impressions = min(impressions + copies, ByteScan.decimalCeiling)
        if !sawPage {
            uniformCopies = copies
            sawPage = true
        } else if uniformCopies != copies {
            uniformCopies = nil
        }
    }

    private mutating func fail() {
        state = .failed
    }
}
