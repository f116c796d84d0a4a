import NIOCore

/// A streaming page counter: fed chunk by chunk as bytes arrive off the wire, so a 200 MB job is counted while it is received, with bounded memory.
///
/// A job is split into sections at each Universal Exit Language (`ESC%-12345X`,
/// HP PJL Technical Reference §4). Each section starts in PJL mode: `@PJL`
/// lines set copies (`SET COPIES=`, `SET QTY=`) and may name the language
/// that follows (`ENTER LANGUAGE=`). The first other line starts the document,
/// whose language is recognised from its first bytes (`%!`, `%PDF-`, ESC,
/// `) HP-PCL XL`) or,
/// failing that, from `ENTER LANGUAGE`. PostScript, PDF, PCL and PCL XL
/// documents are counted by `PostScriptPageScanner`, `PDFPageScanner`,
/// `PCLPageScanner` and `PCLXLPageScanner`.
///
/// The result is the same however the input is chunked: every scanner is a
/// state machine that keeps its partial tokens between calls. See
/// `docs/page-counting.md` for the rules.
public struct PageCounter: Sendable {
    /// Bounds on what one document may make the counter hold or do.
    public struct Limits: Sendable {
        /// The largest PDF object stream (`/Type /ObjStm`) buffered to be decoded.
        public var maxObjectStreamBytes: Int
        /// The largest size one object stream may inflate to (a deflate bomb stops here).
        public var maxInflatedObjectStreamBytes: Int
        /// The most bytes inflated over a whole document.
        public var maxTotalInflatedBytes: Int
        /// A direct `/Length` above this is not trusted; the data is searched for `endstream` instead.
        public var maxTrustedStreamLength: Int
        /// The most PDF page objects and page-tree nodes remembered (by object number).
        public var maxTrackedObjects: Int
        /// Page counts above this are treated as corrupt and reported as unknown.
        public var maxPages: Int
        /// Copies above this (from any source) are ignored as corrupt.
        public var maxCopies: Int
        /// The longest PJL line read; the rest of a longer line is ignored.
        public var maxPJLLineBytes: Int

        /// Defaults sized for real jobs: 16 MiB object streams, 64 MiB inflated each, 256 MiB per document.
        public init(
            maxObjectStreamBytes: Int = 16 << 20,
            maxInflatedObjectStreamBytes: Int = 64 << 20,
            maxTotalInflatedBytes: Int = 256 << 20,
            maxTrustedStreamLength: Int = 1 << 40,
            maxTrackedObjects: Int = 4_000_000,
            maxPages: Int = 10_000_000,
            maxCopies: Int = 9_999,
            maxPJLLineBytes: Int = 4_096
        ) {
            self.maxObjectStreamBytes = maxObjectStreamBytes
            self.maxInflatedObjectStreamBytes = maxInflatedObjectStreamBytes
            self.maxTotalInflatedBytes = maxTotalInflatedBytes
            self.maxTrustedStreamLength = maxTrustedStreamLength
            self.maxTrackedObjects = maxTrackedObjects
            self.maxPages = maxPages
            self.maxCopies = maxCopies
            self.maxPJLLineBytes = maxPJLLineBytes
        }
    }

    private enum Phase: Sendable {
        /// Reading `@PJL` lines.
        case pjl
        /// Collecting the document's first bytes to recognise its language.
        case sniff
        case postScript, pdf, pcl, pclXL
        /// A document we do not count.
        case unknown
    }

    private let limits: Limits
    private var phase = Phase.pjl

    // Universal Exit Language matching across chunks.
    private static let universalExitLanguage: [UInt8] = Array("\u{1B}%-12345X".utf8)
    private var heldUniversalExitBytes = 0

    // PJL state.
    private var pjlLine: [UInt8] = []
    private var pjlLineIsCommand = false
    private var pjlCopies: Int?
    private var pjlQuantity: Int?
    private var pjlInJob = false
    private var enteredLanguage: DocumentLanguage?

    // Document recognition.
    private var signature: [UInt8] = []
    /// The longest signature: a PCL XL stream header's `) HP-PCL XL`.
    private static let signatureBytes = 11
    private static let pdfSignature: [UInt8] = Array("%PDF-".utf8)
    /// After the binding byte, `(` (high byte first) or `)` (low byte first).
    private static let pclXLSignature: [UInt8] = Array(" HP-PCL XL".utf8)

    // The document being counted.
    private var postScript: PostScriptPageScanner?
    private var pdf: PDFPageScanner?
    private var pcl: PCLPageScanner?
    private var pclXL: PCLXLPageScanner?
    private var documentCopies = 1
    private var documentQuantity = 1

    // The job so far.
    private var tally = JobTally()

    /// A counter for one job.
    public init(limits: Limits = .init()) {
        self.limits = limits
        self.pjlLine.reserveCapacity(128)
    }

    /// Feeds the next bytes of the job.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        let marker = Self.universalExitLanguage

        // A UEL that began in an earlier chunk.
        if heldUniversalExitBytes > 0 {
            while index < count && heldUniversalExitBytes < marker.count && bytes[index] == marker[heldUniversalExitBytes] {
                heldUniversalExitBytes += 1
                index += 1
            }
            if heldUniversalExitBytes == marker.count {
                heldUniversalExitBytes = 0
                endSection()
            } else if index < count {
                // Not a UEL after all: the held bytes are ordinary data.
                let held = heldUniversalExitBytes
                heldUniversalExitBytes = 0
                marker.withUnsafeBytes { deliver(UnsafeRawBufferPointer(rebasing: $0[0..<held])) }
            } else {
                return
            }
        }

        var start = index
        while index < count {
            guard let escape = ByteScan.firstIndex(of: ByteScan.esc, in: bytes, from: index) else { break }
            var matched = 1
            while matched < marker.count && escape + matched < count && bytes[escape + matched] == marker[matched] {
                matched += 1
            }
            if matched == marker.count {
                deliver(UnsafeRawBufferPointer(rebasing: bytes[start..<escape]))
                endSection()
                index = escape + matched
                start = index
            } else if escape + matched == count {
                // The chunk ends inside what may be a UEL: hold those bytes back.
                deliver(UnsafeRawBufferPointer(rebasing: bytes[start..<escape]))
                heldUniversalExitBytes = matched
                return
            } else {
                index = escape + 1
            }
        }
        deliver(UnsafeRawBufferPointer(rebasing: bytes[start..<count]))
    }

    /// Feeds the next bytes of the job.
    public mutating func consume(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { self.consume($0) }
    }

    /// Ends the job and returns its count. The counter should not be fed afterwards.
    public mutating func finish() -> PageCount {
        if heldUniversalExitBytes > 0 {
            let held = heldUniversalExitBytes
            heldUniversalExitBytes = 0
            Self.universalExitLanguage.withUnsafeBytes { deliver(UnsafeRawBufferPointer(rebasing: $0[0..<held])) }
        }
        endSection()
        return tally.result()
    }

    /// Convenience for a whole document in memory.
    public static func count(_ bytes: some Collection<UInt8>) -> PageCount {
        var counter = PageCounter()
        let done: Void? = bytes.withContiguousStorageIfAvailable { counter.consume(UnsafeRawBufferPointer($0)) }
        if done == nil {
            Array(bytes).withUnsafeBytes { counter.consume($0) }
        }
        return counter.finish()
    }

    // MARK: - Sections

    /// Hands section bytes (no UEL inside) to the current phase.
    private mutating func deliver(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        while index < count {
            switch phase {
            case .pjl:
                index = readPJL(bytes, from: index)
            case .sniff:
                index = sniff(bytes, from: index)
            case .postScript:
                postScript!.consume(UnsafeRawBufferPointer(rebasing: bytes[index..<count]))
                return
            case .pdf:
                pdf!.consume(UnsafeRawBufferPointer(rebasing: bytes[index..<count]))
                return
            case .pcl:
                pcl!.consume(UnsafeRawBufferPointer(rebasing: bytes[index..<count]))
                return
            case .pclXL:
                pclXL!.consume(UnsafeRawBufferPointer(rebasing: bytes[index..<count]))
                return
            case .unknown:
                return
            }
        }
    }

    /// A UEL or the end of the data: the document (if any) is complete.
    private mutating func endSection() {
        switch phase {
        case .pjl:
            if !pjlLine.isEmpty && pjlLineIsCommand { pjlCommand() }
        case .sniff:
            if !signature.isEmpty { startDocument() }
        default:
            break
        }
        switch phase {
        case .postScript:
            postScript!.finish()
            let copies = postScript!.copies ?? documentCopies
            let pages = postScript!.pages
            tally.add(document(.postScript, pages: pages, copies: copies, impressions: pages.map { JobTally.saturating($0, times: copies) }))
            postScript = nil
        case .pdf:
            pdf!.finish()
            let pages = pdf!.pages
            tally.add(document(.pdf, pages: pages, copies: documentCopies, impressions: pages.map { JobTally.saturating($0, times: documentCopies) }))
            pdf = nil
        case .pcl:
            pcl!.finish()
            let copies = pcl!.pages == 0 ? pcl!.lastCopies : pcl!.uniformCopies
            tally.add(document(.pcl, pages: pcl!.pages, copies: copies, impressions: pcl!.impressions))
            pcl = nil
        case .pclXL:
            pclXL!.finish()
            let pages = pclXL!.pages
            let copies = pages == 0 ? pclXL!.lastCopies : pclXL!.uniformCopies
            tally.add(document(.pclXL, pages: pages, copies: copies, impressions: pages == nil ? nil : pclXL!.impressions))
            pclXL = nil
        case .unknown:
            tally.add(document(.unknown, pages: nil, copies: documentCopies, impressions: nil))
        case .pjl, .sniff:
            break
        }
        phase = .pjl
        pjlLine.removeAll(keepingCapacity: true)
        pjlLineIsCommand = false
        signature.removeAll(keepingCapacity: true)
        enteredLanguage = nil
        if !pjlInJob {
            // A UEL outside a PJL job is a PJL reset condition.
            pjlCopies = nil
            pjlQuantity = nil
        }
    }

    // MARK: - PJL

    private static let pjlPrefix: [UInt8] = Array("@PJL".utf8)

    private mutating func readPJL(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if pjlLine.isEmpty && !pjlLineIsCommand {
                // Blank lines and stray white space between PJL commands.
                if byte == ByteScan.lineFeed || byte == ByteScan.carriageReturn || byte == ByteScan.space
                    || byte == ByteScan.tab || byte == 0x04 || byte == 0x00
                {
                    index += 1
                    continue
                }
            }
            if byte == ByteScan.lineFeed {
                index += 1
                if pjlLineIsCommand {
                    pjlCommand()
                    pjlLine.removeAll(keepingCapacity: true)
                    pjlLineIsCommand = false
                    if phase == .sniff { return index }
                } else {
                    // A short line that is not PJL: it is the document.
                    return startSniffing(withLine: true, then: index)
                }
                continue
            }
            index += 1
            if pjlLineIsCommand {
                if pjlLine.count < limits.maxPJLLineBytes { pjlLine.append(byte) }
                continue
            }
            pjlLine.append(byte)
            if byte != Self.pjlPrefix[pjlLine.count - 1] {
                return startSniffing(withLine: false, then: index)
            }
            if pjlLine.count == Self.pjlPrefix.count { pjlLineIsCommand = true }
        }
        return index
    }

    /// The bytes read as a possible PJL line were the document's first bytes.
    private mutating func startSniffing(withLine lineFeed: Bool, then index: Int) -> Int {
        var line = pjlLine
        if lineFeed { line.append(ByteScan.lineFeed) }
        pjlLine.removeAll(keepingCapacity: true)
        pjlLineIsCommand = false
        phase = .sniff
        line.withUnsafeBytes { deliver($0) }
        return index
    }

    private mutating func pjlCommand() {
        let words = Self.words(pjlLine.dropFirst(Self.pjlPrefix.count))
        guard let command = words.first else { return }
        switch command {
        case "ENTER":
            if let language = Self.value(of: "LANGUAGE", in: words) {
                enteredLanguage = Self.language(named: language)
                phase = .sniff
            }
        case "SET":
            if let copies = Self.value(of: "COPIES", in: words).flatMap(Int.init), (1...limits.maxCopies).contains(copies) {
                pjlCopies = copies
            }
            if let quantity = Self.value(of: "QTY", in: words).flatMap(Int.init), (1...limits.maxCopies).contains(quantity) {
                pjlQuantity = quantity
            }
        case "JOB":
            pjlInJob = true
        case "EOJ":
            pjlInJob = false
            pjlCopies = nil
            pjlQuantity = nil
        case "RESET":
            pjlCopies = nil
            pjlQuantity = nil
        default:
            break
        }
    }

    /// Upper-cased words of a PJL line, with `=` and `:` as words of their own.
    private static func words(_ line: ArraySlice<UInt8>) -> [String] {
        var words: [String] = []
        var current: [UInt8] = []
        func flush() {
            if !current.isEmpty {
                words.append(String(decoding: current, as: UTF8.self))
                current.removeAll()
            }
        }
        for byte in line.prefix(512) {
            switch byte {
            case ByteScan.space, ByteScan.tab, ByteScan.carriageReturn, ByteScan.formFeed:
                flush()
            case UInt8(ascii: "="), UInt8(ascii: ":"):
                flush()
                words.append(String(UnicodeScalar(byte)))
            default:
                current.append(ByteScan.upper(byte))
            }
        }
        flush()
        return words
    }

    /// The word after `name =`.
    private static func value(of name: String, in words: [String]) -> String? {
        guard let position = words.firstIndex(of: name), position + 2 < words.count, words[position + 1] == "=" else {
            return nil
        }
        return words[position + 2]
    }

    private static func language(named name: String) -> DocumentLanguage {
        switch name {
        case "POSTSCRIPT", "PS": return .postScript
        case "PDF": return .pdf
        case "PCL", "PCL5", "PCL5C", "PCL5E", "PCL3", "PCL3GUI", "HPGL2": return .pcl
        case "PCLXL": return .pclXL
        default: return .unknown
        }
    }

    // MARK: - Recognition

    private mutating func sniff(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if signature.isEmpty
                && (byte == ByteScan.lineFeed || byte == ByteScan.carriageReturn || byte == ByteScan.space
                    || byte == ByteScan.tab || byte == 0x04 || byte == 0x00)
            {
                // Leading white space and the ^D some Windows drivers send before PostScript.
                index += 1
                continue
            }
            signature.append(byte)
            index += 1
            if signature.count == Self.signatureBytes || Self.isDecided(signature) {
                let recognised = signature
                signature.removeAll(keepingCapacity: true)
                startDocument(with: recognised)
                return index
            }
        }
        return index
    }

    /// Whether the first bytes already tell the language, before all eleven arrived.
    private static func isDecided(_ signature: [UInt8]) -> Bool {
        if signature[0] == ByteScan.esc { return true }
        if signature.count >= 2 && ByteScan.hasPrefix(signature, "%!") { return true }
        if pdfSignature.starts(with: signature) { return signature.count == pdfSignature.count }
        if isPCLXLBinding(signature[0]) { return !pclXLSignature.starts(with: signature.dropFirst()) }
        return true
    }

    private static func isPCLXLBinding(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")")
    }

    /// A PCL XL stream header: the binding byte, then ` HP-PCL XL`.
    private static func isPCLXL(_ firstBytes: [UInt8]) -> Bool {
        firstBytes.count > pclXLSignature.count && isPCLXLBinding(firstBytes[0])
            && firstBytes.dropFirst().starts(with: pclXLSignature)
    }

    private mutating func startDocument() {
        let recognised = signature
        signature.removeAll(keepingCapacity: true)
        startDocument(with: recognised)
    }

    private mutating func startDocument(with firstBytes: [UInt8]) {
        let language: DocumentLanguage
        if ByteScan.hasPrefix(firstBytes, "%!") {
            language = .postScript
        } else if ByteScan.hasPrefix(firstBytes, "%PDF-") {
            language = .pdf
        } else if firstBytes.first == ByteScan.esc {
            language = .pcl
        } else if Self.isPCLXL(firstBytes) {
            language = .pclXL
        } else {
            language = enteredLanguage ?? .unknown
        }
        documentCopies = pjlCopies ?? 1
        documentQuantity = pjlQuantity ?? 1
        switch language {
        case .postScript:
            phase = .postScript
            postScript = PostScriptPageScanner(maxCopies: limits.maxCopies)
        case .pdf:
            phase = .pdf
            pdf = PDFPageScanner(limits: limits)
        case .pcl:
            phase = .pcl
            pcl = PCLPageScanner(defaultCopies: documentCopies, maxCopies: limits.maxCopies)
        case .pclXL:
            phase = .pclXL
            pclXL = PCLXLPageScanner(defaultCopies: documentCopies, maxCopies: limits.maxCopies)
        case .unknown:
            phase = .unknown
        }
        firstBytes.withUnsafeBytes { deliver($0) }
    }
}

extension PageCounter {
    /// One document's count, with the PJL quantity (collated copies of the whole job) applied.
    fileprivate func document(
        _ language: DocumentLanguage, pages: Int?, copies: Int?, impressions: Int?
    ) -> DocumentCount {
        guard let pages, pages <= limits.maxPages, let impressions else {
            return DocumentCount(language: language, pages: nil, copies: copies.map { $0 * documentQuantity } ?? 1, impressions: 0)
        }
        return DocumentCount(
            language: language,
            pages: pages,
            copies: copies.map { $0 * documentQuantity },
            impressions: JobTally.saturating(impressions, times: documentQuantity)
        )
    }
}
