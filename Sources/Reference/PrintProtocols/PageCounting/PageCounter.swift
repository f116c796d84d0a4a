// INTERIM: replaced by the page-counting branch at merge. Same public API.
import NIOCore

public enum DocumentLanguage: String, Sendable, Codable, Hashable { case postScript = "postscript", pdf, pcl, unknown }

public struct PageCount: Sendable, Hashable, Codable {
    public var pages: Int?
    public var copies: Int
    public var language: DocumentLanguage
    public var impressions: Int? { pages.map { $0 * copies } }
    public init(pages: Int?, copies: Int, language: DocumentLanguage) {
        self.pages = pages; self.copies = copies; self.language = language
    }
}

public struct PageCounter: Sendable {
    public struct Limits: Sendable { public init() {} }
    private var head: [UInt8] = []
    private var pages = 0
    private var tail: [UInt8] = []
    public init(limits: Limits = .init()) {}
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        if head.count < 16 { head += bytes.prefix(16 - head.count) }
        let joined = tail + Array(bytes)
        let marker = Array("%%Page:".utf8)
        var i = 0
        while i + marker.count <= joined.count {
            if joined[i] == 0x25, joined[i..<(i + marker.count)].elementsEqual(marker), i >= tail.count - marker.count + 1 || tail.isEmpty { pages += 1 }
            i += 1
        }
        tail = Array(joined.suffix(marker.count - 1))
    }
    public mutating func consume(_ buffer: ByteBuffer) { buffer.withUnsafeReadableBytes { consume($0) } }
    public mutating func finish() -> PageCount {
        let isPS = head.starts(with: Array("%!PS".utf8))
        return PageCount(pages: isPS ? pages : nil, copies: 1, language: isPS ? .postScript : .unknown)
    }
    public static func count(_ bytes: some Collection<UInt8>) -> PageCount {
        var c = PageCounter(); Array(bytes).withUnsafeBytes { c.consume($0) }; return c.finish()
    }
}
