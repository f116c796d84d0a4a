/// Counts the pages of a PDF file as it streams past (ISO 32000-1).
///
/// It reads every indirect object's dictionary (`n g obj << … >>`), skips
/// stream data by its `/Length` (or up to `endstream` when the length is an
/// indirect reference), and inflates object streams (`/Type /ObjStm`, PDF 1.5+,
/// where modern writers keep the page tree) within the configured bounds.
/// The answer comes from `PDFPageTree`.
struct PDFPageScanner: Sendable {
    private var lexer = PDFLexer()
    private var tree: PDFPageTree
    private let limits: PageCounter.Limits
    private var inflatedBudget: Int

    // Object context.
    private var previousInteger: Int?
    private var integerBeforeThat: Int?
    private var objectNumber: Int?
    private var objectHasValue = false
    private var afterTrailerKeyword = false
    private var nesting = 0
    private var dictionary: PDFDictionaryReader?
    private var dictionaryIsTrailer = false
    /// The summary of the object dictionary that just closed, for a following `stream`.
    private var streamDictionary: PDFDictionarySummary?

    // Stream data.
    private enum StreamPhase: Sendable, Equatable {
        case none
        /// Just after the `stream` keyword: its end of line comes next.
        case endOfLine(sawCarriageReturn: Bool)
        /// Skipping `remaining` bytes of data of a known length.
        case known(remaining: Int)
        /// Looking for `endstream` (data of unknown length).
        case searching
        /// After data of a known length: white space, then `endstream`.
        case closing(matched: Int)
    }

    private var phase = StreamPhase.none
    private var endStream = KeywordMatcher("endstream")
    private var endObject = KeywordMatcher("endobj")
    /// Also stop at `endobj` while searching: set after a wrong `/Length`.
    private var searchAlsoForEndObject = false
    private var objectStream: [UInt8]?
    private var objectStreamSummary = PDFDictionarySummary()

    init(limits: PageCounter.Limits) {
        self.limits = limits
        self.tree = PDFPageTree(maxTrackedObjects: limits.maxTrackedObjects)
        self.inflatedBudget = limits.maxTotalInflatedBytes
    }

    var pages: Int? {
        guard let count = tree.pageCount(), count <= limits.maxPages else { return nil }
        return count
    }

    mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        while index < count {
            if phase != .none {
                index = streamData(bytes, from: index)
                continue
            }
            guard let token = lexer.next(bytes, &index) else { return }
            handle(token)
        }
    }

    mutating func finish() {
        if phase == .none, let token = lexer.finish() {
            handle(token)
        }
        if objectStream != nil {
            // Truncated inside an object stream: what it held is unknown.
            objectStream = nil
            tree.incomplete = true
        }
        phase = .none
    }

    // MARK: - Objects

    private mutating func handle(_ token: PDFLexer.Token) {
        if dictionary != nil && token == .keyword && Self.isStructural(lexer.text) {
            // A dictionary that never closed: drop it rather than swallow the file.
            dictionary = nil
            nesting = 0
        }
        if dictionary != nil {
            if let summary = dictionary!.feed(token, text: lexer.text) {
                dictionary = nil
                nesting = 0
                if dictionaryIsTrailer {
                    tree.recordTrailer(summary)
                } else if let objectNumber {
                    tree.record(object: objectNumber, summary)
                    streamDictionary = summary
                }
            }
            return
        }

        switch token {
        case .integer(let value):
            integerBeforeThat = previousInteger
            previousInteger = value
            if objectNumber != nil { objectHasValue = true }
            return
        case .keyword:
            let text = lexer.text
            if ByteScan.equals(text, "obj") {
                if let generation = previousInteger, let number = integerBeforeThat, generation >= 0 {
                    objectNumber = number
                    objectHasValue = false
                    nesting = 0
                    streamDictionary = nil
                }
            } else if ByteScan.equals(text, "endobj") {
                objectNumber = nil
                streamDictionary = nil
            } else if ByteScan.equals(text, "stream") {
                beginStream()
            } else if ByteScan.equals(text, "trailer") {
                afterTrailerKeyword = true
            } else if objectNumber != nil {
                objectHasValue = true
            }
        case .dictionaryOpen:
            if nesting == 0 && objectNumber != nil && !objectHasValue {
                dictionary = PDFDictionaryReader()
                dictionaryIsTrailer = false
            } else if nesting == 0 && afterTrailerKeyword {
                dictionary = PDFDictionaryReader()
                dictionaryIsTrailer = true
                afterTrailerKeyword = false
            } else {
                nesting += 1
            }
            objectHasValue = objectNumber != nil
        case .arrayOpen:
            nesting += 1
            objectHasValue = objectNumber != nil
        case .dictionaryClose, .arrayClose:
            nesting = max(nesting - 1, 0)
        case .name, .other:
            if objectNumber != nil { objectHasValue = true }
        }
        integerBeforeThat = nil
        previousInteger = nil
        if token != .keyword || !ByteScan.equals(lexer.text, "trailer") {
            afterTrailerKeyword = false
        }
    }

    /// Keywords that cannot occur inside a dictionary.
    private static func isStructural(_ text: [UInt8]) -> Bool {
        ByteScan.equals(text, "obj") || ByteScan.equals(text, "endobj") || ByteScan.equals(text, "stream")
            || ByteScan.equals(text, "endstream") || ByteScan.equals(text, "trailer") || ByteScan.equals(text, "xref")
            || ByteScan.equals(text, "startxref")
    }

    // MARK: - Streams

    private mutating func beginStream() {
        let summary = streamDictionary ?? PDFDictionarySummary()
        streamDictionary = nil
        phase = .endOfLine(sawCarriageReturn: false)
        endStream.reset()
        endObject.reset()
        searchAlsoForEndObject = false
        objectStream = nil
        objectStreamSummary = summary

        if summary.kind == .objectStream {
            let decodable =
                !summary.hasDecodeParameters && (summary.filters.isEmpty || summary.filters == [.flate])
            if !decodable {
                tree.incomplete = true
            } else if case .direct(let length) = summary.length, length > limits.maxObjectStreamBytes {
                tree.incomplete = true
            } else {
                objectStream = []
                if case .direct(let length) = summary.length, length > 0 {
                    objectStream!.reserveCapacity(length)
                }
            }
        }
    }

    private mutating func streamData(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let count = bytes.count
        switch phase {
        case .none:
            return index
        case .endOfLine(let sawCarriageReturn):
            let byte = bytes[index]
            if byte == ByteScan.carriageReturn && !sawCarriageReturn {
                phase = .endOfLine(sawCarriageReturn: true)
                return index + 1
            }
            if byte == ByteScan.lineFeed { index += 1 }
            if case .direct(let length) = objectStreamSummary.length, length >= 0,
                length <= limits.maxTrustedStreamLength
            {
                phase = length == 0 ? .closing(matched: 0) : .known(remaining: length)
            } else {
                phase = .searching
            }
            return index
        case .known(let remaining):
            let take = min(remaining, count - index)
            if objectStream != nil {
                appendObjectStream(bytes, from: index, count: take)
            }
            index += take
            phase = remaining == take ? .closing(matched: 0) : .known(remaining: remaining - take)
            return index
        case .closing(let matched):
            let keyword = endStream.pattern
            var matched = matched
            while index < count {
                let byte = bytes[index]
                if matched == 0 && ByteScan.isWhiteSpace(byte) {
                    index += 1
                    continue
                }
                if byte == keyword[matched] {
                    matched += 1
                    index += 1
                    if matched == keyword.count {
                        endOfStream(trimEndKeyword: false)
                        return index
                    }
                    continue
                }
                // The /Length was wrong: fall back to looking for the keywords.
                tree.incomplete = tree.incomplete || objectStream != nil
                objectStream = nil
                searchAlsoForEndObject = true
                endStream.reset()
                endObject.reset()
                phase = .searching
                return index
            }
            phase = .closing(matched: matched)
            return index
        case .searching:
            if searchAlsoForEndObject {
                while index < count {
                    let byte = bytes[index]
                    index += 1
                    if endStream.feed(byte) {
                        endOfStream(trimEndKeyword: true)
                        return index
                    }
                    if endObject.feed(byte) {
                        phase = .none
                        lexer.reset()
                        objectNumber = nil
                        return index
                    }
                }
                return index
            }
            if let end = endStream.scan(bytes, from: index) {
                if objectStream != nil { appendObjectStream(bytes, from: index, count: end - index) }
                endOfStream(trimEndKeyword: true)
                return end
            }
            if objectStream != nil { appendObjectStream(bytes, from: index, count: count - index) }
            return count
        }
    }

    private mutating func appendObjectStream(_ bytes: UnsafeRawBufferPointer, from start: Int, count: Int) {
        guard count > 0 else { return }
        if objectStream!.count + count > limits.maxObjectStreamBytes {
            objectStream = nil
            tree.incomplete = true
            return
        }
        objectStream!.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + count)]))
    }

    private mutating func endOfStream(trimEndKeyword: Bool) {
        phase = .none
        lexer.reset()
        if objectStream != nil {
            finishObjectStream(trimEndKeyword: trimEndKeyword)
        }
    }

    private mutating func finishObjectStream(trimEndKeyword: Bool) {
        guard var data = objectStream else { return }
        objectStream = nil
        if trimEndKeyword {
            data.removeLast(min(endStream.pattern.count, data.count))
            // The end-of-line before `endstream` is not data.
            if data.last == ByteScan.lineFeed { data.removeLast() }
            if data.last == ByteScan.carriageReturn { data.removeLast() }
        }
        let decoded = PDFObjectStream.read(
            data,
            summary: objectStreamSummary,
            limits: limits,
            inflatedBudget: &inflatedBudget,
            into: &tree
        )
        if !decoded { tree.incomplete = true }
    }
}
