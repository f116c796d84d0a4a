import PrintProtocols
import Testing

/// Builds PCL XL streams token by token (HP PCL XL Feature Reference), in either byte order.
struct PCLXLStream {
    var bigEndian = false
    var bytes: [UInt8] = []

    init(bigEndian: Bool = false, header: String? = nil) {
        self.bigEndian = bigEndian
        let line = header ?? "\(bigEndian ? "(" : ")") HP-PCL XL;2;0;Comment Printplane test\n"
        bytes = Array(line.utf8)
    }

    private func uint16(_ value: Int) -> [UInt8] {
        let low = UInt8(value & 0xFF), high = UInt8((value >> 8) & 0xFF)
        return bigEndian ? [high, low] : [low, high]
    }

    private func uint32(_ value: Int) -> [UInt8] {
        let little = (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) }
        return bigEndian ? little.reversed() : little
    }

    mutating func ubyte(_ value: UInt8, _ attribute: UInt8) { bytes += [0xC0, value, 0xF8, attribute] }
    mutating func uint16(_ value: Int, _ attribute: UInt8) { bytes += [0xC1] + uint16(value) + [0xF8, attribute] }
    mutating func uint32(_ value: Int, _ attribute: UInt8) { bytes += [0xC2] + uint32(value) + [0xF8, attribute] }
    mutating func xy(_ x: Int, _ y: Int, _ attribute: UInt8) { bytes += [0xD1] + uint16(x) + uint16(y) + [0xF8, attribute] }
    mutating func ubyteArray(_ values: [UInt8], _ attribute: UInt8) {
        bytes += [0xC8, 0xC1] + uint16(values.count) + values + [0xF8, attribute]
    }
    mutating func op(_ tag: UInt8) { bytes.append(tag) }
    mutating func data(_ payload: [UInt8]) {
        bytes += payload.count < 256 ? [0xFB, UInt8(payload.count)] + payload : [0xFA] + uint32(payload.count) + payload
    }

    /// BeginSession (UnitsPerMeasure, Measure, ErrorReport) and OpenDataSource, as drivers send them.
    mutating func beginSession() {
        xy(600, 600, 0x89); ubyte(0, 0x86); ubyte(3, 0x8F); op(0x41)
        ubyte(0, 0x88); ubyte(1, 0x82); op(0x48)
    }

    mutating func endSession() { op(0x49); op(0x42) }

    /// BeginPage … EndPage with a rectangle and a one-row image whose data is full of 0x44 (EndPage) bytes.
    mutating func page(copies: Int? = nil, duplexSide: UInt8? = nil) {
        ubyte(0, 0x28); ubyte(2, 0x25); ubyte(0, 0x26)
        if let duplexSide { ubyte(0, 0x35); ubyte(duplexSide, 0x36) }
        op(0x43)
        bytes += [0xE1] + uint16(10) + uint16(10) + uint16(100) + uint16(100) + [0xF8, 0x42]
        op(0xA0)
        ubyte(1, 0x62); ubyte(0, 0x64); uint16(3, 0x6C); uint16(1, 0x6B); xy(3, 1, 0x67); op(0xB0)
        uint16(0, 0x6D); uint16(1, 0x63); ubyte(0, 0x65); op(0xB1)
        data([0x44, 0x44, 0x44, 0x42, 0x43, 0x41])
        op(0xB2)
        if let copies { uint16(copies, 0x31) }
        op(0x44)
    }

    static func document(pages: Int, copies: Int? = nil, bigEndian: Bool = false) -> [UInt8] {
        var stream = PCLXLStream(bigEndian: bigEndian)
        stream.beginSession()
        for _ in 0..<pages { stream.page(copies: copies) }
        stream.endSession()
        return stream.bytes
    }
}

@Suite("PCL XL page counting")
struct PCLXLPageCountTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var stream: [UInt8]
        var expected: PageCount
        var testDescription: String { name }
    }

    static func xl(_ pages: Int?, copies: Int = 1) -> PageCount { PageCount(pages: pages, copies: copies, language: .pclXL) }

    static let uel = bytes("␛%-12345X")

    static let cases: [Case] = {
        var cases: [Case] = []
        func add(_ name: String, _ expected: PageCount, _ build: (inout PCLXLStream) -> Void, bigEndian: Bool = false) {
            var stream = PCLXLStream(bigEndian: bigEndian)
            build(&stream)
            cases.append(Case(name: name, stream: stream.bytes, expected: expected))
        }
        cases.append(Case(name: "three pages, low byte first", stream: PCLXLStream.document(pages: 3), expected: xl(3)))
        cases.append(Case(name: "three pages, high byte first", stream: PCLXLStream.document(pages: 3, bigEndian: true), expected: xl(3)))
        cases.append(Case(name: "PageCopies on every page", stream: PCLXLStream.document(pages: 2, copies: 3, bigEndian: true), expected: xl(2, copies: 3)))
        add("pages with different PageCopies are counted as impressions", xl(5)) { s in
            s.beginSession(); s.page(copies: 2); s.page(copies: 3); s.endSession()
        }
        add("a session with no page prints nothing", xl(0)) { s in s.beginSession(); s.endSession() }
        add("two sessions in one stream", xl(3)) { s in
            s.beginSession(); s.page(); s.endSession(); s.beginSession(); s.page(); s.page(); s.endSession()
        }
        add("duplex sides are pages", xl(4)) { s in
            s.beginSession(); s.page(duplexSide: 0); s.page(duplexSide: 1); s.page(duplexSide: 0); s.page(duplexSide: 1); s.endSession()
        }
        add("0x44 in an array and in scalar values is not EndPage", xl(1)) { s in
            s.beginSession()
            s.ubyte(0, 0x28); s.ubyte(2, 0x25); s.op(0x43)
            s.ubyteArray(Array(repeating: 0x44, count: 300), 0xAB); s.op(0xA8)
            s.uint16(0x4444, 0x6D); s.uint32(0x4444_4444, 0x6F)
            s.op(0x44); s.endSession()
        }
        add("embedded data longer than 255 bytes (0xFA) is skipped", xl(1)) { s in
            s.beginSession(); s.ubyte(0, 0x28); s.op(0x43)
            s.ubyte(1, 0x62); s.ubyte(0, 0x64); s.uint16(1000, 0x6C); s.uint16(1, 0x6B); s.xy(1000, 1, 0x67); s.op(0xB0)
            s.uint16(0, 0x6D); s.uint16(1, 0x63); s.ubyte(0, 0x65); s.op(0xB1)
            s.data(Array(repeating: 0x44, count: 1000))
            s.op(0xB2); s.op(0x44); s.endSession()
        }
        add("white space between tokens and an empty data block", xl(1)) { s in
            s.bytes += [0x20, 0x0A, 0x00]; s.beginSession(); s.bytes += [0x0D, 0x0A]
            s.ubyte(0, 0x28); s.op(0x43); s.bytes += [0xFB, 0x00, 0x09]; s.op(0x44); s.endSession(); s.bytes += [0x20]
        }
        add("VendorUnique data follows its VUDataLength without a data tag", xl(1)) { s in
            s.beginSession(); s.ubyte(0, 0x28); s.op(0x43)
            s.uint32(0x5C, 0x91); s.uint32(6, 0x92); s.op(0x46); s.bytes += [0x44, 0x44, 0x43, 0x42, 0x41, 0x44]
            s.op(0x44); s.endSession()
        }
        add("no EndSession: a truncated job is not counted", xl(nil)) { s in s.beginSession(); s.page(); s.page() }
        add("a page begun and not ended is not counted", xl(nil)) { s in s.beginSession(); s.page(); s.ubyte(0, 0x28); s.op(0x43) }
        add("EndPage outside a page is an illegal sequence", xl(nil)) { s in s.beginSession(); s.op(0x44); s.endSession() }
        add("BeginPage inside a page is an illegal sequence", xl(nil)) { s in
            s.beginSession(); s.op(0x43); s.op(0x43); s.op(0x44); s.endSession()
        }
        add("a value without its attribute ID is an illegal sequence", xl(nil)) { s in
            s.beginSession(); s.bytes += [0xC0, 0x01]; s.op(0x43); s.op(0x44); s.endSession()
        }
        add("an undefined operator is an illegal tag", xl(nil)) { s in s.beginSession(); s.op(0x43); s.op(0x45); s.op(0x44); s.endSession() }
        add("an undefined data type is an illegal tag", xl(nil)) { s in s.beginSession(); s.bytes += [0xC6, 0, 0xF8, 0x28]; s.endSession() }
        add("embedded data where no operator reads it is an illegal tag", xl(nil)) { s in
            s.beginSession(); s.ubyte(0, 0x28); s.bytes += [0xFB, 0x01, 0x44]; s.op(0x43); s.op(0x44); s.endSession()
        }
        add("EndPage while an image is being read is an illegal sequence", xl(nil)) { s in
            s.beginSession(); s.op(0x43); s.ubyte(1, 0x62); s.op(0xB0); s.op(0x44); s.endSession()
        }
        add("PageCopies as a ubyte is an illegal data type", xl(nil)) { s in
            s.beginSession(); s.op(0x43); s.ubyte(2, 0x31); s.op(0x44); s.endSession()
        }
        add("PageCopies 0 is not knowable", xl(nil)) { s in s.beginSession(); s.page(copies: 0); s.endSession() }
        add("ExecStream may print pages of its own: not knowable", xl(nil)) { s in
            s.beginSession(); s.op(0x43); s.ubyteArray(Array("form".utf8), 0x8B); s.op(0x5E); s.op(0x44); s.endSession()
        }
        add("Passthrough PCL 5 may eject pages: not knowable", xl(nil)) { s in
            s.beginSession(); s.op(0x43); s.op(0xBF); s.data(Array("␛&l2X\u{C}".utf8)); s.op(0x44); s.endSession()
        }
        add("a stream definition without ExecStream is skipped", xl(1)) { s in
            s.beginSession()
            s.ubyteArray(Array("form".utf8), 0x8B); s.op(0x5B)
            s.uint32(8, 0x8C); s.op(0x5C); s.data([0x43, 0x44, 0x43, 0x44, 0x43, 0x44, 0x43, 0x44]); s.op(0x5D)
            s.page(); s.endSession()
        }
        return cases
    }()

    @Test("counts", arguments: cases)
    func counts(_ testCase: Case) {
        #expect(PageCounter.count(testCase.stream) == testCase.expected)
        for (way, count) in Chunked.allWays(testCase.stream) {
            #expect(count == testCase.expected, "\(way)")
        }
    }

    struct Header: Sendable, CustomTestStringConvertible {
        var line: String
        var pages: Int?
        var testDescription: String { line.debugDescription }
    }

    @Test(
        "stream headers",
        arguments: [
            Header(line: ") HP-PCL XL;1;1;Comment Copyright Artifex Sofware, Inc. 2005-2021\u{0}\n", pages: 1),
            Header(line: ") HP-PCL XL;3;0;Comment, PCL-XL driver\r\n", pages: 1),
            Header(line: ") HP-PCL XL;2\n", pages: nil),  // no `;` after the class: GhostPCL's stream check fails too
            Header(line: ") HP-PCL XL;4;0;\n", pages: nil),
            Header(line: "' HP-PCL XL;2;0;\n", pages: nil),  // the ASCII binding
            Header(line: ") HP-PCL XL;2;0;no line feed", pages: nil),
        ])
    func headers(_ header: Header) {
        var stream = PCLXLStream(header: header.line)
        stream.beginSession(); stream.page(); stream.endSession()
        let data = bytes("␛%-12345X@PJL ENTER LANGUAGE=PCLXL\r\n") + stream.bytes + Self.uel
        let expected = Self.xl(header.pages)
        #expect(PageCounter.count(data) == expected)
        for (way, count) in Chunked.allWays(data) {
            #expect(count == expected, "\(way)")
        }
    }

    @Test("PJL COPIES is the default, PageCopies overrides it, QTY multiplies")
    func pjlCopies() {
        let plain = PCLXLStream.document(pages: 2)
        let withCopies = PCLXLStream.document(pages: 2, copies: 4)
        func job(_ settings: String, _ stream: [UInt8]) -> [UInt8] {
            bytes("␛%-12345X@PJL JOB\r\n\(settings)@PJL ENTER LANGUAGE = PCLXL\r\n") + stream + bytes("␛%-12345X@PJL EOJ\r\n␛%-12345X")
        }
        let cases: [([UInt8], PageCount)] = [
            (job("@PJL SET COPIES=3\r\n", plain), Self.xl(2, copies: 3)),
            (job("@PJL SET COPIES=3\r\n", withCopies), Self.xl(2, copies: 4)),
            (job("@PJL SET QTY=2\r\n", plain), Self.xl(2, copies: 2)),
            (job("@PJL SET COPIES=3\r\n@PJL SET QTY=2\r\n", withCopies), Self.xl(2, copies: 8)),
        ]
        for (data, expected) in cases {
            #expect(PageCounter.count(data) == expected)
            for (way, count) in Chunked.allWays(data) {
                #expect(count == expected, "\(way)")
            }
        }
    }

    @Test("recognised by its header without PJL, and next to other languages in one job")
    func recognition() {
        #expect(PageCounter.count(PCLXLStream.document(pages: 2)) == Self.xl(2))
        // ENTER LANGUAGE=PCLXL over content that is not PCL XL: the scanner finds no header.
        #expect(PageCounter.count(bytes("␛%-12345X@PJL ENTER LANGUAGE=PCLXL\r\nhello\u{C}␛%-12345X")) == Self.xl(nil))
        // A PostScript document after a PCL XL one in the same job.
        let job = Self.uel + PCLXLStream.document(pages: 2) + Self.uel
            + bytes("@PJL ENTER LANGUAGE=POSTSCRIPT\n%!PS-Adobe-3.0\n%%Page: 1 1\nshowpage\n") + Self.uel
        #expect(PageCounter.count(job) == Self.xl(3))
        for (way, count) in Chunked.allWays(job) {
            #expect(count == Self.xl(3), "\(way)")
        }
        // Text that merely starts with a parenthesis is not PCL XL.
        #expect(PageCounter.count(bytes("(HP-PCL XL is great)\n")) == PageCount(pages: nil, language: .unknown))
    }

    @Test("every truncation of a valid stream is unknown or the full count, never a partial one")
    func truncationsNeverGuess() {
        let data = PCLXLStream.document(pages: 3, copies: 2)
        for cut in 1..<data.count {
            let count = PageCounter.count(Array(data[0..<cut]))
            #expect(count.pages == nil, "cut at \(cut)")
        }
        #expect(PageCounter.count(data) == Self.xl(3, copies: 2))
    }

    @Test("a huge embedded data length skips to the end without hanging or buffering")
    func hugeDataLength() {
        var stream = PCLXLStream()
        stream.beginSession(); stream.op(0x43); stream.op(0xB0); stream.op(0xB1)
        stream.bytes += [0xFA, 0xFF, 0xFF, 0xFF, 0xFF]
        var counter = PageCounter()
        stream.bytes.withUnsafeBytes { counter.consume($0) }
        let megabyte = [UInt8](repeating: 0x44, count: 1 << 20)
        for _ in 0..<16 { megabyte.withUnsafeBytes { counter.consume($0) } }
        #expect(counter.finish() == Self.xl(nil))
    }
}
