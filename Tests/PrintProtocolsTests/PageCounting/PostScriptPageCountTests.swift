import PrintProtocols
import Testing

@Suite("PostScript page counting (DSC)")
struct PostScriptPageCountTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var document: String
        var pages: Int?
        var copies = 1
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "%%Page: comments",
            document: "%!PS-Adobe-3.0\n%%Pages: 9\n%%EndComments\n%%Page: 1 1\nshowpage\n%%Page: 2 2\nshowpage\n%%EOF\n",
            pages: 2),
        Case(
            name: "%%Pages: fallback",
            document: "%!PS-Adobe-3.0\n%%Pages: 4\n%%EndComments\nshowpage showpage showpage showpage\n",
            pages: 4),
        Case(
            name: "%%Pages: (atend) resolved in the trailer",
            document: "%!PS-Adobe-3.0\n%%Pages: (atend)\n%%EndComments\n4 { showpage } repeat\n%%Trailer\n%%Pages: 4\n%%EOF\n",
            pages: 4),
        Case(
            name: "%%Pages: (atend) never resolved",
            document: "%!PS-Adobe-3.0\n%%Pages: (atend)\n%%EndComments\nshowpage\n",
            pages: nil),
        Case(
            name: "no DSC at all is not guessed from showpage",
            document: "%!\n/Times-Roman findfont 12 scalefont setfont 72 72 moveto (hi) show showpage showpage\n",
            pages: nil),
        Case(
            name: "page-level comments that are not %%Page:",
            document: "%!PS-Adobe-3.0\n%%PageOrder: Ascend\n%%Page: 1 1\n%%PageBoundingBox: 0 0 10 10\n%%PageTrailer\n%%Page: 2 2\n%%PageMedia: A4\n",
            pages: 2),
        Case(
            name: "an embedded EPS's pages are not the document's",
            document:
                "%!PS-Adobe-3.0\n%%Pages: 1\n%%Page: 1 1\n%%BeginDocument: fig.eps\n%!PS-Adobe-3.0 EPSF-3.0\n%%Pages: 1\n%%Page: 1 1\n%%EndDocument\nshowpage\n%%Trailer\n",
            pages: 1),
        Case(
            name: "%%Page: not at the start of a line",
            document: "%!PS-Adobe-3.0\n%%Page: 1 1\n(%%Page: 2 2) show showpage\n",
            pages: 1),
        Case(
            name: "carriage-return line ends",
            document: "%!PS-Adobe-3.0\r%%Page: 1 1\rshowpage\r%%Page: 2 2\rshowpage\r%%Page: 3 3\r",
            pages: 3),
        Case(
            name: "CRLF line ends and a Windows ^D",
            document: "\u{4}%!PS-Adobe-3.0\r\n%%Page: 1 1\r\nshowpage\r\n%%Page: 2 2\r\nshowpage\r\n\u{4}",
            pages: 2),
        Case(
            name: "/NumCopies in setpagedevice",
            document: "%!PS-Adobe-3.0\n%%BeginSetup\n<< /NumCopies 3 >> setpagedevice\n%%EndSetup\n%%Page: 1 1\nshowpage\n",
            pages: 1, copies: 3),
        Case(
            name: "/#copies",
            document: "%!PS-Adobe-3.0\n/#copies 2 def\n%%Page: 1 1\nshowpage\n",
            pages: 1, copies: 2),
        Case(
            name: "copies in strings, comments and non-integers are ignored",
            document:
                "%!PS-Adobe-3.0\n(/NumCopies 5) pop % /NumCopies 6\n/NumCopies null\ndup/Context get/NumCopies//knownget exec\n/NumCopies 2.5\n%%Page: 1 1\nshowpage\n",
            pages: 1, copies: 1),
        Case(
            name: "nested strings with escaped parentheses",
            document: "%!PS-Adobe-3.0\n(a (b) \\) c) pop /NumCopies 4 def\n%%Page: 1 1\n",
            pages: 1, copies: 4),
        Case(
            name: "an ASCII85 blob with stray parentheses",
            document: "%!PS-Adobe-3.0\ncurrentfile /ASCII85Decode filter <~9jqo^((BlbD-BleB1D~> pop\n<< /NumCopies 2 >> setpagedevice\n%%Page: 1 1\n",
            pages: 1, copies: 2),
    ]

    @Test("counts", arguments: cases)
    func counts(_ testCase: Case) {
        let data = bytes(testCase.document)
        let expected = PageCount(pages: testCase.pages, copies: testCase.copies, language: .postScript)
        #expect(PageCounter.count(data) == expected)
        for (way, count) in Chunked.allWays(data) {
            #expect(count == expected, "\(way)")
        }
    }
}
