import Foundation
import NIOCore
import Testing

@testable import PrintplaneServer

/// Chunks a byte string as a request body would arrive.
struct ChunkedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let chunks: [ByteBuffer]

    init(_ bytes: [UInt8], chunkSize: Int) {
        self.chunks = stride(from: 0, to: bytes.count, by: chunkSize).map { ByteBuffer(bytes: bytes[$0..<Swift.min($0 + chunkSize, bytes.count)]) }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<ByteBuffer>
        mutating func next() async throws -> ByteBuffer? { self.remaining.popFirst() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: self.chunks[...]) }
}

@Suite("Console parts: HTML escaping, forms, streamed multipart, sign-in throttle")
struct ConsolePartsTests {
    @Test("escape turns every markup character into a reference and leaves other text alone")
    func escape() {
        #expect(HTML.escape(#"<script>alert("x" & 'y')</script>"#) == "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;")
        #expect(HTML.escape("Drucker Büro 3 — ünïcödé 🖨") == "Drucker Büro 3 — ünïcödé 🖨")
        #expect(HTML.escape("&amp;") == "&amp;amp;", "already-escaped text is escaped again, not trusted")
        #expect(HTML.escape("") == "")
    }

    @Test("interpolated text is escaped; only HTML values go in as markup")
    func interpolation() {
        let name = "<img src=x onerror=alert(1)>"
        let cell: HTML = "<td title=\"\(name)\">\(name)</td>"
        #expect(cell.description == "<td title=\"&lt;img src=x onerror=alert(1)&gt;\">&lt;img src=x onerror=alert(1)&gt;</td>")
        let inner: HTML = "<b>\(name)</b>"
        let outer: HTML = "<p>\(inner) \(3) \(nil, or: "—")</p>"
        #expect(outer.description == "<p><b>&lt;img src=x onerror=alert(1)&gt;</b> 3 —</p>")
        let attribute: HTML = "<input value=\"\(#"" autofocus onfocus="alert(1)"#)\">"
        #expect(!attribute.description.contains("\" autofocus"), "a quote cannot end the attribute")
    }

    @Test("urlencoded forms: plus is space, percent escapes, first value wins, blanks are absent")
    func forms() throws {
        let form = FormFields(urlEncoded: "name=Floor+2%2FWest&empty=&name=second&port=9100&bad=%ZZ&flag")
        #expect(form["name"] == "Floor 2/West")
        #expect(form["empty"] == "" && form.text("empty") == nil && form["missing"] == nil)
        #expect(try form.integer("port") == 9100)
        #expect(form["bad"] == "%ZZ" && form["flag"] == "")
        #expect(throws: ServerError.self) { try FormFields(urlEncoded: "port=ninety").integer("port") }
        #expect(FormFields.encode([("q", "a b&c=d/é")]) == "q=a%20b%26c%3Dd%2F%C3%A9")
        #expect(FormFields(urlEncoded: FormFields.encode([("q", "a b&c=d/é+")]))["q"] == "a b&c=d/é+")
    }

    static func multipartBody(boundary: String, file: [UInt8]) -> [UInt8] {
        var body = Array("preamble to ignore\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok-123\r\n".utf8)
        body += Array("--\(boundary)\r\ncontent-disposition: form-data; name=\"name\"\r\n\r\nUniversal PCL 6\r\n".utf8)
        body += Array("--\(boundary)  \r\nContent-Disposition: form-data; name=\"package\"; filename=\"a \\\"b\\\"; c.zip\"\r\nContent-Type: application/zip\r\n\r\n".utf8)
        body += file
        body += Array("\r\n--\(boundary)--\r\nepilogue".utf8)
        return body
    }

    @Test("multipart parts and a file that holds near-delimiters come out whole, however the body is chunked", arguments: [1, 2, 7, 64, 4096])
    func multipart(chunkSize: Int) async throws {
        let boundary = "----WebKitFormBoundaryAbC123"
        // File content with CRLF, dashes and a prefix of the delimiter, but never the delimiter itself.
        var file = [UInt8]()
        for index in 0..<3000 { file.append(UInt8(truncatingIfNeeded: index * 31)) }
        file += Array("\r\n--\(boundary.dropLast())X\r\n--\r\n\r\n".utf8)
        file += Array(repeating: 13, count: 50)
        let reader = MultipartFormReader(ChunkedBody(Self.multipartBody(boundary: boundary, file: file), chunkSize: chunkSize), boundary: boundary)
        let first = try #require(try await reader.nextPart())
        #expect(first.name == "csrf_token" && first.filename == nil)
        #expect(try await reader.text(limit: 100) == "tok-123")
        let second = try #require(try await reader.nextPart())
        #expect(second.name == "name")
        #expect(try await reader.text(limit: 100) == "Universal PCL 6")
        let third = try #require(try await reader.nextPart())
        #expect(third.name == "package" && third.filename == "a \"b\"; c.zip" && third.contentType == "application/zip")
        var received = [UInt8]()
        for try await chunk in reader.content { received += chunk.readableBytesView }
        #expect(received == file)
        #expect(try await reader.nextPart() == nil)
    }

    @Test("a part skipped unread, a text field over its limit, and truncated or malformed bodies")
    func multipartErrors() async throws {
        let boundary = "xyz"
        let body = Self.multipartBody(boundary: boundary, file: Array("DATA".utf8))
        let skipping = MultipartFormReader(ChunkedBody(body, chunkSize: 3), boundary: boundary)
        _ = try await skipping.nextPart()
        _ = try await skipping.nextPart()
        #expect(try await skipping.nextPart()?.name == "package", "unread parts are skipped")

        let limited = MultipartFormReader(ChunkedBody(body, chunkSize: 5), boundary: boundary)
        _ = try await limited.nextPart()
        await #expect(throws: ServerError.bodyTooLarge(limit: 3)) { try await limited.text(limit: 3) }

        for (note, bytes) in [
            ("truncated in content", Array("--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc".utf8)),
            ("truncated in headers", Array("--xyz\r\nContent-Disposition: form-da".utf8)),
            ("no Content-Disposition", Array("--xyz\r\nContent-Type: text/plain\r\n\r\nabc\r\n--xyz--".utf8)),
            ("garbage after a delimiter", Array("--xyzGARBAGE\r\n\r\n".utf8)),
            ("headers without end", Array("--xyz\r\n".utf8) + Array(repeating: UInt8(ascii: "a"), count: 20_000)),
        ] {
            let reader = MultipartFormReader(ChunkedBody(bytes, chunkSize: 4), boundary: "xyz")
            await #expect(throws: ServerError.self, "\(note)") {
                while try await reader.nextPart() != nil { while try await reader.nextChunk() != nil {} }
            }
        }
        let empty = MultipartFormReader(ChunkedBody(Array("--xyz--\r\n".utf8), chunkSize: 2), boundary: "xyz")
        #expect(try await empty.nextPart() == nil)

        #expect(MultipartFormReader<ChunkedBody>.boundary(contentType: "multipart/form-data; boundary=\"a b;c\"") == "a b;c")
        #expect(MultipartFormReader<ChunkedBody>.boundary(contentType: "Multipart/Form-Data; charset=utf-8; boundary=----X") == "----X")
        #expect(MultipartFormReader<ChunkedBody>.boundary(contentType: "application/x-www-form-urlencoded") == nil)
        #expect(MultipartFormReader<ChunkedBody>.boundary(contentType: "multipart/form-data") == nil)
        #expect(MultipartFormReader<ChunkedBody>.boundary(contentType: "multipart/form-data; boundary=" + String(repeating: "b", count: 71)) == nil)
    }

    @Test("the throttle: three free failures, then lockouts doubling from 1 s to 15 min; success and time forget")
    func throttle() {
        let clock = ManualClock()
        let throttle = LoginThrottle(clock: { clock.now })
        for _ in 1...3 { #expect(throttle.recordFailure("10.0.0.1") == nil) }
        #expect(throttle.retryAfter("10.0.0.1") == nil)
        #expect(throttle.recordFailure("10.0.0.1") == 1)
        #expect(throttle.retryAfter("10.0.0.1") == 1)
        #expect(throttle.retryAfter("10.0.0.2") == nil, "per address")
        var expected = 1
        for _ in 0..<12 {
            expected = min(expected * 2, 900)
            #expect(throttle.recordFailure("10.0.0.1") == expected)
        }
        #expect(throttle.retryAfter("10.0.0.1") == 900)
        clock.advance(901)
        #expect(throttle.retryAfter("10.0.0.1") == nil)
        throttle.recordSuccess("10.0.0.1")
        #expect(throttle.recordFailure("10.0.0.1") == nil, "a success clears the count")
        for _ in 0..<3 { throttle.recordFailure("10.0.0.3") }
        clock.advance(LoginThrottle.forgetAfter + 1)
        #expect(throttle.recordFailure("10.0.0.3") == nil, "an hour without failure starts again")
    }
}
