import Foundation
import PrintProtocols
import Testing

@Suite("PJL-wrapped jobs and language recognition")
struct PJLPageCountTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var job: String
        var expected: PageCount
        var testDescription: String { name }
    }

    static let uel = "␛%-12345X"
    static let ps2 = "%!PS-Adobe-3.0\n%%Page: 1 1\nshowpage\n%%Page: 2 2\nshowpage\n%%EOF\n"
    static let pcl1 = "␛EHello\u{C}␛E"

    static let cases: [Case] = [
        Case(
            name: "a PCL XL stream header with no session is not a whole job",
            job: "\(uel)@PJL ENTER LANGUAGE=PCLXL\r\n) HP-PCL XL;2;0\r\n\u{C}\u{C}\(uel)",
            expected: PageCount(pages: nil, language: .pclXL)),
        Case(
            name: "a PJL-only job (a status query) prints nothing",
            job: "\(uel)@PJL INFO STATUS\r\n@PJL USTATUS DEVICE=ON\r\n\(uel)",
            expected: PageCount(pages: 0, language: .unknown)),
        Case(name: "an empty job", job: "", expected: PageCount(pages: 0, language: .unknown)),
        Case(
            name: "two documents in one job are added up",
            job: "\(uel)@PJL ENTER LANGUAGE=POSTSCRIPT\n\(ps2)\(uel)@PJL ENTER LANGUAGE=PCL\n\(pcl1)\(uel)",
            expected: PageCount(pages: 3, language: .postScript)),
        Case(
            name: "documents with different copies are added up as impressions",
            job: "\(uel)@PJL JOB\n@PJL SET COPIES=2\n@PJL ENTER LANGUAGE=POSTSCRIPT\n\(ps2)\(uel)@PJL EOJ\n\(uel)\(pcl1)\(uel)",
            expected: PageCount(pages: 5, copies: 1, language: .postScript)),
        Case(
            name: "an unknown document makes the whole job unknown",
            job: "\(uel)\(ps2)\(uel)@PJL ENTER LANGUAGE=HPGL\nPA0,0;\(uel)",
            expected: PageCount(pages: nil, language: .postScript)),
        Case(
            name: "SET with spaces, lower case and LPARM",
            job: "\(uel)@PJL set lparm : pcl copies = 3\n@PJL enter language = pcl\n\(pcl1)\(uel)",
            expected: PageCount(pages: 1, copies: 3, language: .pcl)),
        Case(
            name: "the PJL environment is reset by a UEL outside a job",
            job: "\(uel)@PJL SET COPIES=3\n\(uel)@PJL ENTER LANGUAGE=PCL\n\(pcl1)\(uel)",
            expected: PageCount(pages: 1, copies: 1, language: .pcl)),
        Case(
            name: "inside a JOB the environment lasts until EOJ",
            job: "\(uel)@PJL JOB\n@PJL SET COPIES=3\n\(uel)@PJL ENTER LANGUAGE=PCL\n\(pcl1)\(uel)@PJL EOJ\n\(uel)",
            expected: PageCount(pages: 1, copies: 3, language: .pcl)),
        Case(
            name: "ENTER LANGUAGE names a language the content does not announce",
            job: "\(uel)@PJL ENTER LANGUAGE=PCL\r\nPlain text sent as PCL\u{C}\(uel)",
            expected: PageCount(pages: 1, language: .pcl)),
        Case(
            name: "content beats a wrong ENTER LANGUAGE",
            job: "\(uel)@PJL ENTER LANGUAGE=PCL\r\n\(ps2)\(uel)",
            expected: PageCount(pages: 2, language: .postScript)),
        Case(
            name: "PostScript without PJL, after a ^D and blank lines",
            job: "\u{4}\r\n\r\n\(ps2)",
            expected: PageCount(pages: 2, language: .postScript)),
        Case(
            name: "a job with no UEL but @PJL lines",
            job: "@PJL SET QTY=2\n@PJL ENTER LANGUAGE=POSTSCRIPT\n\(ps2)",
            expected: PageCount(pages: 2, copies: 2, language: .postScript)),
        Case(
            name: "a line that merely starts like @PJL is the document",
            job: "@PJX hello\n",
            expected: PageCount(pages: nil, language: .unknown)),
        Case(
            name: "plain text is not guessed, even with form feeds",
            job: "Hello\u{C}World\u{C}",
            expected: PageCount(pages: nil, language: .unknown)),
        Case(
            name: "a PJL line longer than the limit is read to its end",
            job: "\(uel)@PJL COMMENT \(String(repeating: "x", count: 10_000))\n@PJL SET COPIES=2\n@PJL ENTER LANGUAGE=PCL\n\(pcl1)",
            expected: PageCount(pages: 1, copies: 2, language: .pcl)),
        Case(
            name: "a UEL-like sequence that is not one",
            job: "␛E␛%-12346XText\u{C}",
            expected: PageCount(pages: 1, language: .pcl)),
    ]

    @Test("counts", arguments: cases)
    func counts(_ testCase: Case) {
        let data = bytes(testCase.job)
        #expect(PageCounter.count(data) == testCase.expected)
        for (way, count) in Chunked.allWays(data) {
            #expect(count == testCase.expected, "\(way)")
        }
    }

    @Test("a UEL split at every position across two chunks")
    func universalExitSplitEverywhere() {
        let data = bytes("\(Self.uel)@PJL ENTER LANGUAGE=PCL\n\(Self.pcl1)\(Self.uel)\(Self.uel)@PJL ENTER LANGUAGE=POSTSCRIPT\n\(Self.ps2)\(Self.uel)")
        let expected = PageCount(pages: 3, language: .pcl)
        for split in 0...data.count {
            var counter = PageCounter()
            data.withUnsafeBytes { all in
                counter.consume(UnsafeRawBufferPointer(rebasing: all[0..<split]))
                counter.consume(UnsafeRawBufferPointer(rebasing: all[split...]))
            }
            #expect(counter.finish() == expected, "split at \(split)")
        }
    }

    @Test("impressions are pages times copies, and JSON carries them")
    func impressions() throws {
        #expect(PageCount(pages: 3, copies: 2, language: .pdf).impressions == 6)
        #expect(PageCount(pages: nil, copies: 2, language: .unknown).impressions == nil)
        #expect(PageCount(pages: Int.max, copies: 2, language: .pcl).impressions == nil)

        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(PageCount(pages: 3, copies: 2, language: .postScript)), as: UTF8.self)
        #expect(json == #"{"copies":2,"impressions":6,"language":"postscript","pages":3}"#)
        let unknown = String(decoding: try encoder.encode(PageCount(pages: nil, language: .unknown)), as: UTF8.self)
        #expect(unknown == #"{"copies":1,"impressions":null,"language":"unknown","pages":null}"#)
        let decoded = try JSONDecoder().decode(PageCount.self, from: Data(json.utf8))
        #expect(decoded == PageCount(pages: 3, copies: 2, language: .postScript))
    }
}
