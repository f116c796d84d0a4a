import PrintProtocols
import Testing

@Suite("PDF page counting")
struct PDFPageCountTests {
    /// A minimal PDF: its objects in order, then a classic xref and trailer.
    static func pdf(_ objects: [String], root: Int = 1, header: String = "%PDF-1.4\n") -> [UInt8] {
        var data = bytes(header)
        var offsets: [Int] = []
        for object in objects {
            offsets.append(data.count)
            data += bytes(object + "\n")
        }
        let xref = data.count
        var table = "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets {
            let digits = String(offset)
            table += String(repeating: "0", count: 10 - digits.count) + digits + " 00000 n \n"
        }
        table += "trailer\n<< /Size \(objects.count + 1) /Root \(root) 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return data + bytes(table)
    }

    static let catalog = "1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Outlines 9 0 R >>\nendobj"
    static func page(_ number: Int, parent: Int = 2) -> String {
        "\(number) 0 obj\n<< /Type /Page /Parent \(parent) 0 R /MediaBox [0 0 612 792] /Contents 99 0 R >>\nendobj"
    }

    static func expectCount(_ data: [UInt8], _ pages: Int?, copies: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = PageCount(pages: pages, copies: copies, language: .pdf)
        #expect(PageCounter.count(data) == expected, sourceLocation: sourceLocation)
        for (way, count) in Chunked.allWays(data) {
            #expect(count == expected, "\(way)", sourceLocation: sourceLocation)
        }
    }

    @Test("the root's /Count of a two-level page tree")
    func twoLevelTree() {
        Self.expectCount(
            Self.pdf([
                Self.catalog,
                "2 0 obj\n<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 3 /Resources << /Count 99 >> >>\nendobj",
                Self.page(3),
                "4 0 obj\n<< /Type /Pages /Parent 2 0 R /Kids [5 0 R 6 0 R] /Count 2 >>\nendobj",
                Self.page(5, parent: 4),
                Self.page(6, parent: 4),
                "9 0 obj\n<< /Type /Outlines /Count 7 >>\nendobj",
            ]), 3)
    }

    @Test("keys in any order, with comments, odd spacing and indirect values")
    func oddSyntax() {
        Self.expectCount(
            Self.pdf([
                "1 0 obj<</Pages 2 0 R/Type/Catalog>>endobj",
                "2 0 obj % the root\n<</Kids[3 0 R]/Count\n1/Type  /Pages/MediaBox[0 0 1 1]>>\rendobj",
                "3 0 obj<</Type/Page/Parent 2 0 R/Annots[<</Type/Annot/Count 5>>]>>endobj",
            ]), 1)
    }

    @Test("a page-tree root whose /Type is missing is still found by its /Kids and /Count")
    func untypedRoot() {
        Self.expectCount(
            Self.pdf([
                Self.catalog,
                "2 0 obj\n<< /Kids [3 0 R 4 0 R] /Count 2 >>\nendobj",
                Self.page(3), Self.page(4), Self.page(5),
                "9 0 obj\n<< /Type /Outlines /First 10 0 R /Count 3 >>\nendobj",
            ]), 2)
    }

    @Test("without /Count, distinct /Type /Page objects are counted")
    func fallbackToPageObjects() {
        Self.expectCount(
            Self.pdf([
                "1 0 obj\n<< /Type /Catalog >>\nendobj",
                "2 0 obj\n<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] >>\nendobj",
                Self.page(3), Self.page(4), Self.page(5),
            ]), 3)
    }

    @Test("nothing that says how many pages: unknown")
    func noPageTree() {
        Self.expectCount(Self.pdf(["1 0 obj\n<< /Type /Catalog >>\nendobj", "2 0 obj\n(just a string)\nendobj"]), nil)
    }

    @Test("an incremental update replaces the page tree instead of adding to it")
    func incrementalUpdate() {
        var data = Self.pdf([
            Self.catalog,
            "2 0 obj\n<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>\nendobj",
            Self.page(3), Self.page(4),
        ])
        // Revision 2 rewrites page 4 and adds page 5; revision 3 deletes page 3.
        data += bytes(
            "2 0 obj\n<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >>\nendobj\n\(Self.page(4))\n\(Self.page(5))\n"
                + "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 6 /Root 1 0 R /Prev 9 >>\nstartxref\n9\n%%EOF\n"
                + "2 0 obj\n<< /Type /Pages /Kids [4 0 R 5 0 R] /Count 2 >>\nendobj\n"
                + "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 6 /Root 1 0 R /Prev 9 >>\nstartxref\n9\n%%EOF\n")
        Self.expectCount(data, 2)
    }

    @Test("the catalog named by the trailer picks the page tree when several roots exist")
    func catalogChoosesTree() {
        var data = Self.pdf([
            "1 0 obj\n<< /Type /Catalog /Pages 3 0 R >>\nendobj",
            "2 0 obj\n<< /Type /Pages /Kids [] /Count 7 >>\nendobj",
            "3 0 obj\n<< /Type /Pages /Kids [] /Count 4 >>\nendobj",
        ])
        // An update points the catalog at the tree that was written first, not the last root seen.
        data += bytes(
            "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
                + "trailer\n<< /Size 4 /Root 1 0 R >>\n%%EOF\n")
        Self.expectCount(data, 7)
    }

    @Test("stream data is skipped by /Length, even when it looks like objects")
    func streamSkippedByLength() {
        let content = "9 0 obj << /Type /Pages /Count 100 >> endobj (unbalanced"
        Self.expectCount(
            Self.pdf([
                Self.catalog,
                "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj",
                Self.page(3),
                "99 0 obj\n<< /Length \(content.utf8.count) >>\nstream\n\(content)\nendstream\nendobj",
            ]), 1)
    }

    @Test("stream data of indirect length is skipped up to endstream")
    func streamSkippedToEndstream() {
        let content = "<< /Type /Pages /Count 100 >> (((("
        Self.expectCount(
            Self.pdf([
                Self.catalog,
                "99 0 obj\n<< /Length 98 0 R >>\nstream\r\n\(content)\r\nendstream\nendobj",
                "98 0 obj\n\(content.utf8.count)\nendobj",
                "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj",
                Self.page(3),
            ]), 1)
    }

    @Test("a /Length too short falls back to looking for endstream")
    func lengthTooShort() {
        Self.expectCount(
            Self.pdf([
                Self.catalog,
                "98 0 obj\n<< /Length 3 >>\nstream\n((((((( binary\nendstream\nendobj",
                "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj",
                Self.page(3),
            ]), 1)
    }

    @Test("a /Length too long swallows what follows: unknown, never a guess")
    func lengthTooLong() {
        let broken = "99 0 obj\n<< /Length 4000 >>\nstream\nshort\nendstream\nendobj"
        let tree = ["2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj", Self.page(3)]
        Self.expectCount(Self.pdf([Self.catalog] + tree + [broken]), 1)
        Self.expectCount(Self.pdf([Self.catalog, broken] + tree), nil)
    }

    @Test("a /Length beyond the trusted limit is searched instead of skipped")
    func untrustedHugeLength() {
        Self.expectCount(
            Self.pdf([
                Self.catalog,
                "99 0 obj\n<< /Length 99999999999999 >>\nstream\nshort\nendstream\nendobj",
                "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj",
                Self.page(3),
            ]), 1)
    }

    @Test("the page tree inside an object stream")
    func objectStream() {
        let objects = "<< /Type /Catalog /Pages 2 0 R >> << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> << /Type /Page /Parent 2 0 R >> << /Type /Page /Parent 2 0 R >>"
        let offsets = Self.objectOffsets(objects)
        let header = zip([1, 2, 3, 4], offsets).map { "\($0) \($1)" }.joined(separator: " ") + "\n"
        let body = bytes(header + objects)
        for compressed in [false, true] {
            let data = compressed ? ZlibStored.compress(body) : body
            let filter = compressed ? "/Filter /FlateDecode " : ""
            var pdf = bytes("%PDF-1.5\n10 0 obj\n<< /Type /ObjStm \(filter)/N 4 /First \(header.utf8.count) /Length \(data.count) >>\nstream\n")
            pdf += data
            pdf += bytes("\nendstream\nendobj\n11 0 obj\n<< /Type /XRef /Root 1 0 R /Size 12 /W [1 2 1] /Length 0 >>\nstream\n\nendstream\nendobj\nstartxref\n9\n%%EOF\n")
            Self.expectCount(pdf, 2)
        }
    }

    @Test("an object stream that cannot be decoded makes the count unknown rather than a guess")
    func undecodableObjectStream() {
        // The page leaves are outside, the tree root is in an object stream we cannot read.
        var pdf = bytes("%PDF-1.5\n3 0 obj\n<< /Type /Page /Parent 2 0 R >>\nendobj\n")
        pdf += bytes("10 0 obj\n<< /Type /ObjStm /Filter /LZWDecode /N 1 /First 4 /Length 5 >>\nstream\nxxxxx\nendstream\nendobj\n")
        Self.expectCount(pdf, nil)
    }

    @Test("a corrupt deflate stream makes the count unknown")
    func corruptObjectStream() {
        var pdf = bytes("%PDF-1.5\n3 0 obj\n<< /Type /Page /Parent 2 0 R >>\nendobj\n")
        pdf += bytes("10 0 obj\n<< /Type /ObjStm /Filter /FlateDecode /N 1 /First 4 /Length 9 >>\nstream\nx^garbage\nendstream\nendobj\n")
        Self.expectCount(pdf, nil)
    }

    /// Offsets of the top-level `<<` dictionaries in `objects`.
    static func objectOffsets(_ objects: String) -> [Int] {
        var offsets: [Int] = []
        var depth = 0
        let characters = Array(objects.utf8)
        var index = 0
        while index + 1 < characters.count {
            if characters[index] == UInt8(ascii: "<") && characters[index + 1] == UInt8(ascii: "<") {
                if depth == 0 { offsets.append(index) }
                depth += 1
                index += 2
            } else if characters[index] == UInt8(ascii: ">") && characters[index + 1] == UInt8(ascii: ">") {
                depth -= 1
                index += 2
            } else {
                index += 1
            }
        }
        return offsets
    }
}

/// zlib streams made of stored (uncompressed) deflate blocks (RFC 1950, RFC 1951 §3.2.4),
/// enough to exercise the inflate path without a compressor in the tests.
enum ZlibStored {
    static func compress(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out.append(final)
            out += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        let adler = (b << 16) | a
        out += [UInt8(adler >> 24), UInt8((adler >> 16) & 0xFF), UInt8((adler >> 8) & 0xFF), UInt8(adler & 0xFF)]
        return out
    }
}
