import PrintProtocols
import Testing

/// Hostile and broken input: never a crash, a hang or unbounded memory, and the
/// same answer however it is chunked.
@Suite("Page counting of broken and hostile input")
struct PageCounterRobustnessTests {
    static let fixtureNames = [
        "groff-3pages.ps", "pdftops-5pages.ps", "gs-pdfwrite-5pages.pdf", "qpdf-objstm-5pages.pdf",
        "pypdf-incremental-4pages.pdf", "pypdf-objstm-incremental-4pages.pdf", "gs-ljet4pjl-3pages.pcl",
        "gs-pcl3-3pages.pcl", "gs-cljet5-2pages.pcl", "gs-pxlmono-3pages.pxl",
        "gs-pxlmono-duplex-copies2-4pages.pxl", "gs-pxlcolor-3pages.pxl", "cupsfilter-gstopxl-duplex-5pages.pxl",
        "qpdf-linearized-5pages.pdf", "qpdf-aes256-5pages.pdf", "pypdf-incremental-add-7pages.pdf",
    ]

    @Test("truncated documents count the same in every chunking", arguments: fixtureNames)
    func truncated(_ name: String) throws {
        let data = try PageCountingFixtures.bytes(name)
        var generator = SeededGenerator(seed: UInt64(data.count))
        let cuts = [0, 1, 2, 5, 9, 17, data.count / 2, data.count - 1] + (0..<6).map { _ in Int.random(in: 0..<data.count, using: &generator) }
        for cut in cuts {
            let prefix = Array(data[0..<cut])
            let whole = PageCounter.count(prefix)
            #expect(Chunked.byteByByte(prefix) == whole, "cut at \(cut)")
            #expect(Chunked.random(prefix, seed: UInt64(cut), maxChunk: 97) == whole, "cut at \(cut)")
        }
    }

    @Test("mutated documents count the same in every chunking", arguments: fixtureNames)
    func mutated(_ name: String) throws {
        let original = try PageCountingFixtures.bytes(name)
        var generator = SeededGenerator(seed: 0xC0FFEE ^ UInt64(original.count))
        let interesting: [UInt8] = Array("\u{1B}\u{C}\n\r%()<>[]/0123456789EWXobjstream".utf8)
        for round in 0..<24 {
            var data = original
            for _ in 0..<Int.random(in: 1...16, using: &generator) {
                let position = Int.random(in: 0..<data.count, using: &generator)
                data[position] = Bool.random(using: &generator)
                    ? interesting.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
            let whole = PageCounter.count(data)
            #expect(Chunked.random(data, seed: UInt64(round), maxChunk: 31) == whole, "round \(round)")
            #expect(Chunked.count(data, sizes: [1, 2, 3, 5, 8, 13]) == whole, "round \(round)")
        }
    }

    @Test("random bytes are unknown, whatever their start")
    func randomBytes() {
        var generator = SeededGenerator(seed: 42)
        for prefix in ["", "%!", "%PDF-1.7\n", "␛E", "␛%-12345X@PJL ENTER LANGUAGE=PDF\n", "@PJL "] {
            for _ in 0..<8 {
                let noise = (0..<Int.random(in: 0...20_000, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
                let data = bytes(prefix) + noise
                let whole = PageCounter.count(data)
                #expect(Chunked.byteByByte(data) == whole)
                #expect(Chunked.random(data, seed: 7, maxChunk: 500) == whole)
            }
        }
    }

    @Test("a deflate bomb in an object stream stops at the inflate limit")
    func deflateBomb() throws {
        // Fixtures/zlib-bomb-objstm.pdf: an object stream that inflates to 16 MiB of spaces
        // after the page tree; ~16 KiB compressed.
        let data = try PageCountingFixtures.bytes("zlib-bomb-objstm.pdf")
        var small = PageCounter.Limits()
        small.maxInflatedObjectStreamBytes = 1 << 20
        var limited = PageCounter(limits: small)
        data.withUnsafeBytes { limited.consume($0) }
        #expect(limited.finish() == PageCount(pages: nil, copies: 1, language: .pdf))

        var budget = PageCounter.Limits()
        budget.maxTotalInflatedBytes = 2 << 20
        var budgeted = PageCounter(limits: budget)
        data.withUnsafeBytes { budgeted.consume($0) }
        #expect(budgeted.finish() == PageCount(pages: nil, copies: 1, language: .pdf))

        // Within the default limits it is inflated and read.
        #expect(PageCounter.count(data) == PageCount(pages: 2, copies: 1, language: .pdf))
    }

    @Test("an object stream bigger than the buffer limit is not buffered")
    func objectStreamTooBig() {
        var limits = PageCounter.Limits()
        limits.maxObjectStreamBytes = 1024
        let body = [UInt8](repeating: 0x20, count: 4096)
        for length in ["/Length 4096", "/Length 5 0 R"] {
            var data = bytes("%PDF-1.5\n3 0 obj\n<< /Type /Page >>\nendobj\n10 0 obj\n<< /Type /ObjStm /N 1 /First 4 \(length) >>\nstream\n")
            data += body + bytes("\nendstream\nendobj\n")
            var counter = PageCounter(limits: limits)
            data.withUnsafeBytes { counter.consume($0) }
            #expect(counter.finish() == PageCount(pages: nil, copies: 1, language: .pdf), "\(length)")
        }
    }

    @Test("a huge /Length on ordinary stream data is skipped without buffering")
    func hugeLength() {
        var counter = PageCounter()
        counter.consume(UnsafeRawBufferPointer(start: nil, count: 0))
        let head = bytes("%PDF-1.7\n1 0 obj\n<< /Type /Pages /Count 2 >>\nendobj\n2 0 obj\n<< /Length 900000000000 >>\nstream\n")
        head.withUnsafeBytes { counter.consume($0) }
        let megabyte = [UInt8](repeating: 0x28, count: 1 << 20)
        for _ in 0..<64 {
            megabyte.withUnsafeBytes { counter.consume($0) }
        }
        #expect(counter.finish() == PageCount(pages: 2, copies: 1, language: .pdf))
    }

    @Test("endless data in every phase stays bounded and fast")
    func endlessData() {
        let megabyte = [UInt8](repeating: 0x41, count: 1 << 20)
        for start in ["", "@PJL COMMENT ", "%!PS\n(", "%PDF-1.4\n(", "%PDF-1.4\n1 0 obj\n<< /Type /Pages /Kids [", "␛E␛%0B", "␛E"] {
            var counter = PageCounter()
            bytes(start).withUnsafeBytes { counter.consume($0) }
            for _ in 0..<4 {
                megabyte.withUnsafeBytes { counter.consume($0) }
            }
            _ = counter.finish()
        }
    }
}
