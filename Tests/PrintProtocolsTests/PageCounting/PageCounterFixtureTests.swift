import PrintProtocols
import Testing

/// Documents made by real tools (ghostscript, groff, poppler, qpdf, pypdf; see
/// Fixtures/README.md), counted whole and in every chunking.
@Suite("Page counting of real-world documents")
struct PageCounterFixtureTests {
    struct Fixture: Sendable, CustomTestStringConvertible {
        var file: String
        var expected: PageCount
        var testDescription: String { file }
    }

    static let fixtures: [Fixture] = [
        Fixture(file: "groff-3pages.ps", expected: PageCount(pages: 3, copies: 1, language: .postScript)),
        Fixture(file: "pdftops-5pages.ps", expected: PageCount(pages: 5, copies: 1, language: .postScript)),
        // Two embedded EPS figures (cairo), each with its own %%Pages: 1 and %%Page: 1 1 inside %%BeginDocument.
        Fixture(file: "groff-pspic-eps-3pages.ps", expected: PageCount(pages: 3, copies: 1, language: .postScript)),
        // CUPS made the two copies itself (pdftopdf) and padded each to an even number of sides for duplex.
        Fixture(file: "cupsfilter-pstops-duplex-copies2-8pages.ps", expected: PageCount(pages: 8, copies: 1, language: .postScript)),
        Fixture(file: "gs-pdfwrite-5pages.pdf", expected: PageCount(pages: 5, copies: 1, language: .pdf)),
        Fixture(file: "qpdf-objstm-5pages.pdf", expected: PageCount(pages: 5, copies: 1, language: .pdf)),
        Fixture(file: "pypdf-incremental-4pages.pdf", expected: PageCount(pages: 4, copies: 1, language: .pdf)),
        Fixture(file: "pypdf-objstm-incremental-4pages.pdf", expected: PageCount(pages: 4, copies: 1, language: .pdf)),
        Fixture(file: "gs-ljet4-3pages.pcl", expected: PageCount(pages: 3, copies: 1, language: .pcl)),
        Fixture(file: "gs-ljet4pjl-3pages.pcl", expected: PageCount(pages: 3, copies: 1, language: .pcl)),
        Fixture(file: "gs-pcl3-3pages.pcl", expected: PageCount(pages: 3, copies: 1, language: .pcl)),
        Fixture(file: "gs-cljet5-2pages.pcl", expected: PageCount(pages: 2, copies: 1, language: .pcl)),
        Fixture(file: "gs-ljet4d-duplex-copies2-4pages.pcl", expected: PageCount(pages: 4, copies: 2, language: .pcl)),
        Fixture(file: "gs-cdj550-3pages.pcl", expected: PageCount(pages: 3, copies: 1, language: .pcl)),
        Fixture(file: "gs-cdjmono-3pages.pcl", expected: PageCount(pages: 3, copies: 1, language: .pcl)),
        Fixture(file: "gs-pxlmono-3pages.pxl", expected: PageCount(pages: 3, copies: 1, language: .pclXL)),
        Fixture(file: "gs-pxlmono-duplex-copies2-4pages.pxl", expected: PageCount(pages: 4, copies: 2, language: .pclXL)),
        Fixture(file: "gs-pxlcolor-3pages.pxl", expected: PageCount(pages: 3, copies: 1, language: .pclXL)),
        Fixture(file: "cupsfilter-gstopxl-duplex-5pages.pxl", expected: PageCount(pages: 5, copies: 1, language: .pclXL)),
        Fixture(file: "gs-pdfwrite14-5pages.pdf", expected: PageCount(pages: 5, copies: 1, language: .pdf)),
        Fixture(file: "gs-pdfwrite17-5pages.pdf", expected: PageCount(pages: 5, copies: 1, language: .pdf)),
        Fixture(file: "qpdf-linearized-5pages.pdf", expected: PageCount(pages: 5, copies: 1, language: .pdf)),
        Fixture(file: "qpdf-aes128-5pages.pdf", expected: PageCount(pages: 5, copies: 1, language: .pdf)),
        Fixture(file: "qpdf-aes256-5pages.pdf", expected: PageCount(pages: 5, copies: 1, language: .pdf)),
        // The page tree lives in an encrypted object stream: not readable without decrypting, so not guessed.
        Fixture(file: "qpdf-aes256-objstm-5pages.pdf", expected: PageCount(pages: nil, copies: 1, language: .pdf)),
        Fixture(file: "pypdf-incremental-add-7pages.pdf", expected: PageCount(pages: 7, copies: 1, language: .pdf)),
        Fixture(file: "pdftocairo-5pages.pdf", expected: PageCount(pages: 5, copies: 1, language: .pdf)),
        Fixture(file: "reportlab-7pages.pdf", expected: PageCount(pages: 7, copies: 1, language: .pdf)),
        Fixture(file: "libreoffice-3pages.pdf", expected: PageCount(pages: 3, copies: 1, language: .pdf)),
        Fixture(file: "plain.txt", expected: PageCount(pages: nil, copies: 1, language: .unknown)),
    ]

    @Test("counts the fixture whole", arguments: fixtures)
    func countsWhole(_ fixture: Fixture) throws {
        let data = try PageCountingFixtures.bytes(fixture.file)
        #expect(PageCounter.count(data) == fixture.expected)
    }

    @Test("counts the same however the fixture is chunked", arguments: fixtures)
    func chunkingInvariance(_ fixture: Fixture) throws {
        let data = try PageCountingFixtures.bytes(fixture.file)
        for (way, count) in Chunked.allWays(data) {
            #expect(count == fixture.expected, "\(way)")
        }
    }

    /// The same documents behind the kind of PJL header a driver sends.
    struct Wrapped: Sendable, CustomTestStringConvertible {
        var file: String
        var header: String
        var expected: PageCount
        var testDescription: String { "\(file) with \(header.split(separator: "\n").dropFirst().joined(separator: "; "))" }
    }

    static let wrapped: [Wrapped] = [
        Wrapped(
            file: "groff-3pages.ps",
            header: "␛%-12345X@PJL JOB NAME=\"report\"\r\n@PJL SET COPIES=2\r\n@PJL ENTER LANGUAGE=POSTSCRIPT\r\n",
            expected: PageCount(pages: 3, copies: 2, language: .postScript)),
        Wrapped(
            file: "gs-pdfwrite-5pages.pdf",
            header: "␛%-12345X@PJL\r\n@PJL SET QTY=3\r\n@PJL ENTER LANGUAGE=PDF\r\n",
            expected: PageCount(pages: 5, copies: 3, language: .pdf)),
        Wrapped(
            file: "qpdf-objstm-5pages.pdf",
            header: "␛%-12345X@PJL JOB\n@PJL SET COPIES = 4\n@PJL ENTER LANGUAGE = PDF\n",
            expected: PageCount(pages: 5, copies: 4, language: .pdf)),
        // The PCL itself says ESC&l1X, which overrides PJL's COPIES (PJL Technical Reference, environment commands).
        Wrapped(
            file: "gs-ljet4-3pages.pcl",
            header: "␛%-12345X@PJL JOB\r\n@PJL SET COPIES=5\r\n@PJL ENTER LANGUAGE=PCL\r\n",
            expected: PageCount(pages: 3, copies: 1, language: .pcl)),
        // pcl3 output has no copies command, so PJL's COPIES stands; QTY multiplies it.
        Wrapped(
            file: "gs-pcl3-3pages.pcl",
            header: "␛%-12345X@PJL JOB\r\n@PJL SET COPIES=2\r\n@PJL SET QTY=2\r\n@PJL ENTER LANGUAGE=PCL\r\n",
            expected: PageCount(pages: 3, copies: 4, language: .pcl)),
        // No ENTER LANGUAGE: recognised from the content.
        Wrapped(
            file: "pdftops-5pages.ps",
            header: "␛%-12345X@PJL JOB\r\n@PJL SET COPIES=3\r\n",
            expected: PageCount(pages: 5, copies: 3, language: .postScript)),
    ]

    @Test("counts PJL-wrapped documents", arguments: wrapped)
    func pjlWrapped(_ wrapped: Wrapped) throws {
        let data = bytes(wrapped.header) + (try PageCountingFixtures.bytes(wrapped.file))
            + bytes("␛%-12345X@PJL EOJ\r\n␛%-12345X")
        #expect(PageCounter.count(data) == wrapped.expected)
        for (way, count) in Chunked.allWays(data) {
            #expect(count == wrapped.expected, "\(way)")
        }
    }
}
