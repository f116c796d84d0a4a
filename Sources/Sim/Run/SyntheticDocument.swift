import NIOCore

/// Small, valid print documents with an exact page count, made in memory, so virtual
/// users print real PostScript, PDF and PCL that the fake printers' page counter (the
/// same one the agent uses) can count.
public enum SyntheticDocument {
    /// A document of `kind` with `pages` pages (1 or more).
    public static func make(_ kind: Scenario.DocumentKind, pages: Int) -> ByteBuffer {
        let pages = max(1, pages)
        switch kind {
        case .postscript: return self.postScript(pages: pages)
        case .pdf: return self.pdf(pages: pages)
        case .pcl: return self.pcl(pages: pages)
        }
    }

    static func postScript(pages: Int) -> ByteBuffer {
        var text = "%!PS-Adobe-3.0\n%%Creator: printplane sim\n%%Pages: \(pages)\n%%EndComments\n"
        for page in 1...pages {
            text += "%%Page: \(page) \(page)\n/Helvetica findfont 24 scalefont setfont 72 720 moveto (Page \(page)) show showpage\n"
        }
        text += "%%Trailer\n%%EOF\n"
        return ByteBuffer(string: text)
    }

    static func pcl(pages: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("\u{1B}E")
        for page in 1...pages {
            buffer.writeString("Page \(page) of \(pages)\r\n\u{0C}")
        }
        buffer.writeString("\u{1B}E")
        return buffer
    }

    /// A classic (non-compressed) PDF with a correct cross-reference table.
    static func pdf(pages: Int) -> ByteBuffer {
        var objects = [String]()
        objects.append("<< /Type /Catalog /Pages 2 0 R >>")
        let kids = (0..<pages).map { "\(4 + 2 * $0) 0 R" }.joined(separator: " ")
        objects.append("<< /Type /Pages /Kids [\(kids)] /Count \(pages) >>")
        objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
        for page in 0..<pages {
            let content = "BT /F1 24 Tf 72 720 Td (Page \(page + 1)) Tj ET"
            objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents \(5 + 2 * page) 0 R >>")
            objects.append("<< /Length \(content.utf8.count) >>\nstream\n\(content)\nendstream")
        }
        var out = "%PDF-1.4\n"
        var offsets = [Int]()
        for (index, object) in objects.enumerated() {
            offsets.append(out.utf8.count)
            out += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = out.utf8.count
        out += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets {
            let digits = String(offset)
            out += String(repeating: "0", count: 10 - digits.count) + digits + " 00000 n \n"
        }
        out += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return ByteBuffer(string: out)
    }
}
