/// What the page counter needs from one PDF dictionary: its `/Type` and the few
/// keys that locate the page tree or let a stream be skipped or decoded.
struct PDFDictionarySummary: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case pages, page, catalog, objectStream, crossReferenceStream, other
    }

    enum Length: Sendable, Equatable {
        case direct(Int)
        case indirect
    }

    var kind = Kind.other
    /// Whether `/Type` was present at all.
    var hasType = false
    /// Whether `/Kids` was present (a page-tree node, even when its `/Type` is missing).
    var hasKids = false
    var hasParent = false
    var count: Int?
    var length: Length?
    /// The stream filters, outermost first (`/Filter /FlateDecode` or an array of names).
    var filters: [Filter] = []
    var hasDecodeParameters = false
    var objectCount: Int?
    var firstOffset: Int?
    /// `/Pages n 0 R` of a catalog.
    var pagesReference: Int?
    /// `/Root n 0 R` of a trailer or cross-reference stream.
    var rootReference: Int?
}

extension PDFDictionarySummary {
    /// The stream filters we tell apart.
    enum Filter: Sendable, Equatable {
        case flate, other
    }
}

/// Follows the tokens of one dictionary and fills a `PDFDictionarySummary` from
/// its top-level keys; keys of nested dictionaries (`/Resources`, `/Outlines`
/// …) are never mistaken for the page tree's.
struct PDFDictionaryReader: Sendable {
    private enum KeyState: Sendable, Equatable {
        case expectKey
        case expectValue
        /// An integer value, which may still turn out to be a reference `n g R`.
        case integerValue(first: Int, numbers: Int)
    }

    private var depth = 0
    private var keyState = KeyState.expectKey
    private var key = Key.ignored
    private var summary = PDFDictionarySummary()
    private var collectingFilterArray = false

    /// The top-level keys we read.
    private enum Key: Sendable, Equatable {
        case type, kids, parent, count, length, filter, decodeParameters, objectCount, first, pages, root, ignored
    }

    /// Starts reading just after the dictionary's opening `<<`.
    init() {
        depth = 1
    }

    /// Feeds the next token; returns the summary when it closes the dictionary.
    mutating func feed(_ token: PDFLexer.Token, text: [UInt8]) -> PDFDictionarySummary? {
        switch token {
        case .dictionaryOpen, .arrayOpen:
            if depth == 1 {
                settlePendingInteger()
                if keyState == .expectValue {
                    if key == .filter && token == .arrayOpen { collectingFilterArray = true }
                    if key == .kids { summary.hasKids = true }
                    if key == .decodeParameters { summary.hasDecodeParameters = true }
                    if key == .parent { summary.hasParent = true }
                }
                keyState = .expectKey
            }
            depth += 1
            return nil
        case .dictionaryClose, .arrayClose:
            depth -= 1
            if depth == 1 {
                collectingFilterArray = false
            } else if depth <= 0 {
                settlePendingInteger()
                if !summary.hasType && summary.hasKids && summary.count != nil {
                    // Some writers leave out a node's /Type; /Kids and /Count still make it a page-tree node.
                    summary.kind = .pages
                }
                return summary
            }
            return nil
        default:
            break
        }

        if depth == 2 && collectingFilterArray {
            if token == .name { summary.filters.append(Self.filterName(text)) }
            return nil
        }
        guard depth == 1 else { return nil }

        switch (keyState, token) {
        case (.expectKey, .name):
            key = Self.key(text)
            keyState = .expectValue
        case (.expectKey, _):
            break  // malformed; wait for the next name
        case (.expectValue, .integer(let value)):
            keyState = .integerValue(first: value, numbers: 1)
        case (.expectValue, _):
            setValue(token, text: text)
            keyState = .expectKey
        case (.integerValue(let first, let numbers), .integer):
            keyState = numbers == 1 ? .integerValue(first: first, numbers: 2) : .expectKey
        case (.integerValue(let first, let numbers), .keyword):
            if numbers == 2 && ByteScan.equals(text, "R") {
                setReference(first)
            } else {
                setInteger(first)
            }
            keyState = .expectKey
        case (.integerValue(let first, _), .name):
            // The integer stood alone; this name is the next key.
            setInteger(first)
            key = Self.key(text)
            keyState = .expectValue
        case (.integerValue(let first, _), _):
            setInteger(first)
            keyState = .expectKey
        }
        return nil
    }

    private mutating func settlePendingInteger() {
        if case .integerValue(let first, _) = keyState {
            setInteger(first)
            keyState = .expectKey
        }
    }

    private mutating func setValue(_ token: PDFLexer.Token, text: [UInt8]) {
        switch key {
        case .type:
            summary.hasType = true
            guard token == .name else { return }
            summary.kind = Self.kind(text)
        case .parent:
            summary.hasParent = true
        case .filter:
            if token == .name { summary.filters = [Self.filterName(text)] }
        case .decodeParameters:
            if !(token == .keyword && ByteScan.equals(text, "null")) { summary.hasDecodeParameters = true }
        default:
            break
        }
    }

    private mutating func setInteger(_ value: Int) {
        switch key {
        case .count: summary.count = value
        case .length: summary.length = .direct(value)
        case .objectCount: summary.objectCount = value
        case .first: summary.firstOffset = value
        case .parent: summary.hasParent = true
        default: break
        }
    }

    private mutating func setReference(_ objectNumber: Int) {
        switch key {
        case .length: summary.length = .indirect
        case .pages: summary.pagesReference = objectNumber
        case .root: summary.rootReference = objectNumber
        case .parent: summary.hasParent = true
        case .count: summary.count = nil  // an indirect /Count is not followed
        default: break
        }
    }

    private static func key(_ text: [UInt8]) -> Key {
        switch text.count {
        case 1: return ByteScan.equals(text, "N") ? .objectCount : .ignored
        case 4:
            if ByteScan.equals(text, "Type") { return .type }
            if ByteScan.equals(text, "Root") { return .root }
            if ByteScan.equals(text, "Kids") { return .kids }
            return .ignored
        case 5:
            if ByteScan.equals(text, "Count") { return .count }
            if ByteScan.equals(text, "First") { return .first }
            if ByteScan.equals(text, "Pages") { return .pages }
            return .ignored
        case 6:
            if ByteScan.equals(text, "Parent") { return .parent }
            if ByteScan.equals(text, "Length") { return .length }
            if ByteScan.equals(text, "Filter") { return .filter }
            return .ignored
        case 11: return ByteScan.equals(text, "DecodeParms") ? .decodeParameters : .ignored
        default: return .ignored
        }
    }

    private static func kind(_ text: [UInt8]) -> PDFDictionarySummary.Kind {
        if ByteScan.equals(text, "Pages") { return .pages }
        if ByteScan.equals(text, "Page") { return .page }
        if ByteScan.equals(text, "Catalog") { return .catalog }
        if ByteScan.equals(text, "ObjStm") { return .objectStream }
        if ByteScan.equals(text, "XRef") { return .crossReferenceStream }
        return .other
    }

    private static func filterName(_ text: [UInt8]) -> PDFDictionarySummary.Filter {
        ByteScan.equals(text, "FlateDecode") || ByteScan.equals(text, "Fl") ? .flate : .other
    }
}
