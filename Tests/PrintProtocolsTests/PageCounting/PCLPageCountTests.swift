import PrintProtocols
import Testing

@Suite("PCL page counting")
struct PCLPageCountTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var stream: String
        var pages: Int?
        var copies = 1
        var testDescription: String { name }
    }

    /// `␛` is ESC. Every stream starts with ESC (or ESC E), as a driver's does.
    static let cases: [Case] = [
        Case(name: "form feeds", stream: "␛EPage one\u{C}Page two\u{C}␛E", pages: 2),
        Case(name: "a form feed on an empty page still ejects", stream: "␛E\u{C}\u{C}␛E", pages: 2),
        Case(name: "reset ejects a page with marks", stream: "␛EPage one␛E", pages: 1),
        Case(name: "reset on a clean page ejects nothing", stream: "␛E␛E␛E", pages: 0),
        Case(name: "reset after a form feed does not double count", stream: "␛EPage one\u{C}␛E", pages: 1),
        Case(name: "white space is not a mark", stream: "␛E  \r\n\t␛E", pages: 0),
        Case(name: "the last page without a form feed is printed", stream: "␛EPage one\u{C}Page two", pages: 2),
        Case(
            name: "form feeds inside raster rows are data",
            stream: "␛E␛*r1A␛*b3W\u{C}\u{C}\u{C}␛*b2W\u{C}␛␛*rB\u{C}␛E", pages: 1),
        Case(
            name: "raster planes (ESC*b#V) carry data too",
            stream: "␛E␛*r1A␛*b2V\u{C}\u{C}␛*b2W\u{C}\u{C}␛*rC\u{C}␛E", pages: 1),
        Case(
            name: "combined raster sequence: data follows the lower-case w",
            stream: "␛E␛*b2m3w\u{C}\u{C}\u{C}␛*rC\u{C}␛E", pages: 1),
        Case(
            name: "font header and character data",
            stream: "␛E␛)s4W\u{C}\u{C}\u{C}\u{C}␛*c65E␛(s2W\u{C}\u{C}Text\u{C}␛E", pages: 1),
        Case(name: "user pattern data", stream: "␛E␛*c1G␛*c2W\u{C}\u{C}Text\u{C}␛E", pages: 1),
        Case(
            name: "transparent print data is printed, not executed",
            stream: "␛E␛&p3X\u{C}\u{C}\u{C}␛E", pages: 1),
        Case(
            name: "ESC&k#W (PCL 3 print mode) carries no data",
            stream: "␛E␛&k1W\u{C}␛E", pages: 1),
        Case(
            name: "combined escape ending in E is not a reset",
            stream: "␛E␛&l1o2a0EText\u{C}␛E", pages: 1),
        Case(
            name: "an orientation change ejects a marked page",
            stream: "␛EPortrait text␛&l1o2a0ELandscape text\u{C}␛E", pages: 2),
        Case(name: "paper source ESC&l0H ejects a marked page", stream: "␛EText␛&l0H␛&l0H␛E", pages: 1),
        Case(name: "duplex page side select always ejects", stream: "␛E␛&l2SFront␛&a2GBack\u{C}␛E", pages: 2),
        Case(name: "a rectangle fill is a mark", stream: "␛E␛*c300a300b0P␛E", pages: 1),
        Case(
            name: "form feeds in HP-GL/2 are not ejects",
            stream: "␛E␛%0BIN;SP1;PD100,100;\u{C}\u{C}␛%0A\u{C}␛E", pages: 1),
        Case(
            name: "HP-GL/2 drawing marks the page for the reset",
            stream: "␛E␛%1BIN;PA10,10;PD20,20;␛%1A␛E", pages: 1),
        Case(name: "HP-GL/2 set-up alone is not a mark", stream: "␛E␛%1BIN;SP1;␛%1A␛E", pages: 0),
        Case(
            name: "a reset leaves HP-GL/2",
            stream: "␛E␛%0BIN;PD;␛E\u{C}␛E", pages: 2),
        Case(
            name: "a macro definition is stored, not printed",
            stream: "␛E␛&f1y0XMacro text\u{C}\u{C}␛&f1X␛E", pages: 0),
        Case(
            name: "display functions print control codes",
            stream: "␛E␛Y\u{C}\u{C}␛Z", pages: 1),
        Case(name: "copies", stream: "␛E␛&l3XText\u{C}␛E", pages: 1, copies: 3),
        Case(name: "copies in a combined sequence", stream: "␛E␛&l2a3x0OText\u{C}␛E", pages: 1, copies: 3),
        Case(name: "copies out of range are ignored", stream: "␛E␛&l0X␛&l99999XText\u{C}", pages: 1, copies: 1),
        Case(
            name: "pages asking for different copies are counted as impressions",
            stream: "␛E␛&l2XOne\u{C}␛&l1XTwo\u{C}␛E", pages: 3, copies: 1),
        Case(name: "copies asked for on no page", stream: "␛E␛&l4X␛E", pages: 0, copies: 1),
        Case(
            name: "a lone ESC before a control code is dropped",
            stream: "␛EText␛\u{C}More\u{C}", pages: 2),
        Case(
            name: "stray characters inside a value are ignored",
            stream: "␛E␛*b3;W\u{C}\u{C}\u{C}\u{C}␛E", pages: 1),
    ]

    @Test("counts", arguments: cases)
    func counts(_ testCase: Case) {
        let data = bytes(testCase.stream)
        let expected = PageCount(pages: testCase.pages, copies: testCase.copies, language: .pcl)
        #expect(PageCounter.count(data) == expected)
        for (way, count) in Chunked.allWays(data) {
            #expect(count == expected, "\(way)")
        }
    }

    @Test("a UEL ends the job's last page")
    func universalExitEndsPage() {
        let data = bytes("␛%-12345X@PJL ENTER LANGUAGE=PCL\r\n␛EText␛%-12345X@PJL EOJ\r\n␛%-12345X")
        #expect(PageCounter.count(data) == PageCount(pages: 1, copies: 1, language: .pcl))
    }

    @Test("a huge byte count skips to the end without hanging")
    func hugeByteCount() {
        // The raster row's (claimed) data marks the page, so the end of the job prints it: 2 pages.
        let data = bytes("␛EText\u{C}␛*b999999999999999999W") + [UInt8](repeating: 0x0C, count: 100_000)
        #expect(PageCounter.count(data) == PageCount(pages: 2, copies: 1, language: .pcl))
    }
}
