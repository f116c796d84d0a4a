/// The benchmark's documents, generated deterministically with realistic page
/// sizes (tens of KB a page): what a driver sends for an ordinary office job.
struct GeneratedDocument: Sendable {
    var name: String
    var bytes: [UInt8]

    static let all: [GeneratedDocument] = [postScript(), pdf(), pcl(), pclXL()]

    static let pages = 100

    /// DSC-conforming PostScript: a prolog, then per page ~40 KB of text and path operators.
    static func postScript() -> GeneratedDocument {
        var random = SplitMix64(seed: 1)
        var out = Array("%!PS-Adobe-3.0\n%%Creator: Printplane benchmark\n%%Pages: \(pages)\n%%EndComments\n%%BeginProlog\n/F { findfont exch scalefont setfont } bind def\n%%EndProlog\n%%BeginSetup\n<< /NumCopies 1 >> setpagedevice\n%%EndSetup\n".utf8)
        let words = ["printplane", "serverless", "print", "management", "page", "count", "driver", "queue", "job", "toner"]
        for page in 1...pages {
            out += Array("%%Page: \(page) \(page)\n%%BeginPageSetup\n/pagesave save def\n%%EndPageSetup\n12 /Helvetica F\n".utf8)
            var y = 760
            while out.count < page * 40_000 {
                var line = "72 \(y) moveto ("
                for _ in 0..<8 { line += words[Int(random.next() % 10)] + " " }
                line += ") show\n\(Int(random.next() % 500)) \(Int(random.next() % 700)) moveto \(Int(random.next() % 100)) 0 rlineto 0 \(Int(random.next() % 100)) rlineto closepath 0.5 setgray fill 0 setgray\n"
                out += Array(line.utf8)
                y = y > 60 ? y - 14 : 760
            }
            out += Array("pagesave restore\nshowpage\n%%PageTrailer\n".utf8)
        }
        out += Array("%%Trailer\n%%EOF\n".utf8)
        return GeneratedDocument(name: "PostScript", bytes: out)
    }

    /// PDF 1.4 with a classic xref: per page a page object and a ~40 KB
    /// (incompressible, FlateDecode-looking) content stream, half with a direct
    /// /Length and half with an indirect one, as real writers mix them.
    static func pdf() -> GeneratedDocument {
        var random = SplitMix64(seed: 2)
        var out = Array("%PDF-1.4\n%\u{00E2}\u{00E3}\n".utf8)
        var offsets: [Int: Int] = [:]
        func object(_ number: Int, _ body: String) {
            offsets[number] = out.count
            out += Array("\(number) 0 obj\n\(body)\nendobj\n".utf8)
        }
        object(1, "<< /Type /Catalog /Pages 2 0 R >>")
        let kids = (0..<pages).map { "\(10 + $0 * 3) 0 R" }.joined(separator: " ")
        object(2, "<< /Type /Pages /Kids [\(kids)] /Count \(pages) /MediaBox [0 0 595 842] >>")
        object(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
        for page in 0..<pages {
            let pageObject = 10 + page * 3
            let contents = pageObject + 1
            let lengthObject = pageObject + 2
            object(pageObject, "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R >> >> /Contents \(contents) 0 R >>")
            let data = (0..<40_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let direct = page % 2 == 0
            offsets[contents] = out.count
            out += Array("\(contents) 0 obj\n<< /Filter /FlateDecode /Length \(direct ? "\(data.count)" : "\(lengthObject) 0 R") >>\nstream\n".utf8)
            out += data
            out += Array("\nendstream\nendobj\n".utf8)
            object(lengthObject, "\(data.count)")
        }
        let size = (offsets.keys.max() ?? 0) + 1
        let xref = out.count
        var table = "xref\n0 \(size)\n0000000000 65535 f \n"
        for number in 1..<size {
            let offset = offsets[number].map(String.init) ?? "0"
            table += String(repeating: "0", count: 10 - offset.count) + offset + (offsets[number] == nil ? " 65535 f \n" : " 00000 n \n")
        }
        table += "trailer\n<< /Size \(size) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        out += Array(table.utf8)
        return GeneratedDocument(name: "PDF", bytes: out)
    }

    /// PJL-wrapped PCL 5 at 300 dpi: per page a few text lines and ~40 KB of
    /// raster rows (`ESC*b#W` with TIFF-compressed-looking data full of form feeds).
    static func pcl() -> GeneratedDocument {
        var random = SplitMix64(seed: 3)
        let escape = "\u{1B}"
        var out = Array("\(escape)%-12345X@PJL JOB NAME=\"bench\"\r\n@PJL SET COPIES=1\r\n@PJL ENTER LANGUAGE=PCL\r\n\(escape)E\(escape)&l1X\(escape)&l26a0o0E\(escape)*t300R".utf8)
        for page in 1...pages {
            out += Array("\(escape)*p300x300YPage \(page) of the Printplane benchmark\r\n\(escape)*p300x400Y\(escape)*r2480S\(escape)*r1A\(escape)*b2M".utf8)
            let target = out.count + 40_000
            while out.count < target {
                let row = (0..<Int(random.next() % 160 + 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                out += Array("\(escape)*b\(row.count)W".utf8)
                out += row
            }
            out += Array("\(escape)*rB\u{0C}".utf8)
        }
        out += Array("\(escape)E\(escape)%-12345X@PJL EOJ\r\n\(escape)%-12345X".utf8)
        return GeneratedDocument(name: "PCL", bytes: out)
    }
}

extension GeneratedDocument {
    /// PJL-wrapped PCL XL 2.0 (low byte first), as a Windows PCL 6 driver sends it: per
    /// page `BeginPage`, a few `Text` runs and a rectangle, and ~40 KB of image data in
    /// `ReadImage` blocks (`0xFA` embedded data, random bytes full of operator codes),
    /// then `EndPage` with `PageCopies`.
    static func pclXL() -> GeneratedDocument {
        var random = SplitMix64(seed: 4)
        func u16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
        func u32(_ value: Int) -> [UInt8] { u16(value & 0xFFFF) + u16(value >> 16) }
        func ubyte(_ value: UInt8, _ attribute: UInt8) -> [UInt8] { [0xC0, value, 0xF8, attribute] }
        func uint16(_ value: Int, _ attribute: UInt8) -> [UInt8] { [0xC1] + u16(value) + [0xF8, attribute] }
        var out = Array("\u{1B}%-12345X@PJL JOB NAME=\"bench\"\r\n@PJL SET COPIES=1\r\n@PJL ENTER LANGUAGE=PCLXL\r\n) HP-PCL XL;2;0;Comment Printplane benchmark\n".utf8)
        out += [0xD1] + u16(600) + u16(600) + [0xF8, 0x89] + ubyte(0, 0x86) + ubyte(3, 0x8F) + [0x41]
        out += ubyte(0, 0x88) + ubyte(1, 0x82) + [0x48]
        for page in 1...pages {
            out += ubyte(0, 0x28) + ubyte(2, 0x25) + ubyte(0, 0x26) + [0x43]
            for line in 0..<20 {
                let text = Array("Page \(page) line \(line) of the Printplane benchmark".utf8)
                out += [0xD3] + u16(300) + u16(300 + line * 60) + [0xF8, 0x4C, 0x6B]
                out += [0xC8, 0xC1] + u16(text.count) + text + [0xF8, 0xAB, 0xA8]
            }
            out += [0xE1] + u16(100) + u16(100) + u16(4000) + u16(200) + [0xF8, 0x42, 0xA0]
            out += ubyte(1, 0x62) + ubyte(0, 0x64) + uint16(4800, 0x6C) + uint16(800, 0x6B)
            out += [0xD1] + u16(4800) + u16(800) + [0xF8, 0x67, 0xB0]
            let target = out.count + 40_000
            var line = 0
            while out.count < target {
                let block = (0..<Int(random.next() % 3000 + 1000)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                out += uint16(line, 0x6D) + uint16(8, 0x63) + ubyte(2, 0x65) + [0xB1, 0xFA] + u32(block.count) + block
                line += 8
            }
            out += [0xB2] + uint16(1, 0x31) + [0x44]
        }
        out += [0x49, 0x42]
        out += Array("\u{1B}%-12345X@PJL EOJ\r\n\u{1B}%-12345X".utf8)
        return GeneratedDocument(name: "PCL XL", bytes: out)
    }
}

/// A small deterministic generator, so every run counts the same bytes.
struct SplitMix64: Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
