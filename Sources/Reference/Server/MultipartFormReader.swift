import Foundation
import NIOCore

/// Reads an RFC 7578 `multipart/form-data` body as a stream: part headers one at a time,
/// and each part's content as chunks, so a file part can be hashed and written to disk as
/// it arrives (``DriverRepository/store(_:)``) and never buffered whole.
///
/// RFC 2046 §5.1.1: a part ends at CRLF `--boundary`; the last delimiter is followed by
/// `--`. The reader keeps at most one delimiter's length of unsent bytes between chunks.
/// Use from one task only.
final class MultipartFormReader<Base: AsyncSequence> where Base.Element == ByteBuffer {
    /// A part's headers.
    struct Part: Sendable {
        /// `name` from `Content-Disposition: form-data`.
        var name: String
        /// `filename`, present (possibly empty) for a file input.
        var filename: String?
        var contentType: String?
    }

    private enum State {
        /// In a part's content (or the preamble before the first delimiter).
        case content
        /// The delimiter was found after the last chunk returned; the next read ends the part.
        case contentEnding
        /// Just past a delimiter: the next part's headers, or `--` and the end.
        case afterDelimiter
        case done
    }

    static var maxHeaderBytes: Int { 8 * 1024 }

    private var iterator: Base.AsyncIterator
    private var buffer: ByteBuffer
    private let delimiter: [UInt8]
    private var state = State.content
    private var exhausted = false

    init(_ body: Base, boundary: String) {
        self.iterator = body.makeAsyncIterator()
        // A leading CRLF makes the first delimiter look like every other one.
        self.buffer = ByteBuffer(string: "\r\n")
        self.delimiter = Array("\r\n--\(boundary)".utf8)
    }

    /// The boundary from a `multipart/form-data` Content-Type, or `nil` if it is another type.
    static func boundary(contentType: String?) -> String? {
        guard let contentType else { return nil }
        let parameters = Self.parameters(contentType)
        guard parameters.value.lowercased() == "multipart/form-data", let boundary = parameters.parameters["boundary"],
              (1...70).contains(boundary.utf8.count), !boundary.hasSuffix(" ")
        else { return nil }
        return boundary
    }

    /// Moves to the next part, skipping what is left of the current one; `nil` after the last.
    func nextPart() async throws -> Part? {
        while self.state == .content || self.state == .contentEnding {
            _ = try await self.nextChunk()
        }
        guard self.state == .afterDelimiter else { return nil }
        try await self.require(2)
        if self.buffer.readableBytesView.starts(with: "--".utf8) {
            self.state = .done
            return nil
        }
        // Transport padding, then CRLF, then headers up to an empty line.
        while true {
            try await self.require(1)
            guard let byte = self.buffer.readableBytesView.first, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") else { break }
            self.buffer.moveReaderIndex(forwardBy: 1)
        }
        try await self.require(2)
        guard self.buffer.readableBytesView.starts(with: "\r\n".utf8) else { throw Self.malformed("a delimiter is not followed by a line end") }
        let headerEnd = try await self.find(Array("\r\n\r\n".utf8), within: Self.maxHeaderBytes)
        // The block runs from the delimiter's CRLF: an empty block is "\r\n\r\n" at once.
        let block = self.buffer.readString(length: headerEnd + 4) ?? ""
        var part = Part(name: "", filename: nil, contentType: nil)
        var named = false
        for line in block.components(separatedBy: "\r\n") where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw Self.malformed("a part header has no ':'") }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch name {
            case "content-disposition":
                let disposition = Self.parameters(value)
                guard disposition.value.lowercased() == "form-data", let fieldName = disposition.parameters["name"] else {
                    throw Self.malformed("a part is not form-data with a name")
                }
                part.name = fieldName
                part.filename = disposition.parameters["filename"]
                named = true
            case "content-type":
                part.contentType = value
            default:
                continue
            }
        }
        guard named else { throw Self.malformed("a part has no Content-Disposition") }
        self.state = .content
        return part
    }

    /// The next chunk of the current part's content; `nil` at its end.
    func nextChunk() async throws -> ByteBuffer? {
        switch self.state {
        case .contentEnding:
            self.state = .afterDelimiter
            return nil
        case .afterDelimiter, .done:
            return nil
        case .content:
            break
        }
        while true {
            if let index = Self.firstIndex(of: self.delimiter, in: self.buffer) {
                let chunk = self.buffer.readSlice(length: index)!
                self.buffer.moveReaderIndex(forwardBy: self.delimiter.count)
                if chunk.readableBytes > 0 {
                    self.state = .contentEnding
                    return chunk
                }
                self.state = .afterDelimiter
                return nil
            }
            // Everything but a possible delimiter prefix at the end can go.
            let safe = self.buffer.readableBytes - (self.delimiter.count - 1)
            if safe > 0 { return self.buffer.readSlice(length: safe)! }
            guard try await self.fill() else { throw Self.malformed("the body ended inside a part") }
        }
    }

    /// The current part's content as text, refused past `limit` bytes.
    func text(limit: Int) async throws -> String {
        var collected = ByteBuffer()
        while var chunk = try await self.nextChunk() {
            guard collected.readableBytes + chunk.readableBytes <= limit else { throw ServerError.bodyTooLarge(limit: limit) }
            collected.writeBuffer(&chunk)
        }
        return String(buffer: collected)
    }

    /// The current part's content as an async sequence, for ``DriverRepository/store(_:)``.
    var content: Content { Content(reader: self) }

    struct Content: AsyncSequence {
        typealias Element = ByteBuffer
        let reader: MultipartFormReader
        struct AsyncIterator: AsyncIteratorProtocol {
            let reader: MultipartFormReader
            mutating func next() async throws -> ByteBuffer? { try await self.reader.nextChunk() }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: self.reader) }
    }

    // MARK: Helpers

    private func fill() async throws -> Bool {
        guard !self.exhausted, var next = try await self.iterator.next() else {
            self.exhausted = true
            return false
        }
        var merged = ByteBuffer()
        merged.reserveCapacity(self.buffer.readableBytes + next.readableBytes)
        merged.writeBuffer(&self.buffer)
        merged.writeBuffer(&next)
        self.buffer = merged
        return true
    }

    private func require(_ count: Int) async throws {
        while self.buffer.readableBytes < count {
            guard try await self.fill() else { throw Self.malformed("the body ended early") }
        }
    }

    /// The offset of `needle` in the buffer, reading more as needed, at most `limit` bytes in.
    private func find(_ needle: [UInt8], within limit: Int) async throws -> Int {
        while true {
            if let index = Self.firstIndex(of: needle, in: self.buffer) { return index }
            guard self.buffer.readableBytes <= limit else { throw Self.malformed("part headers are longer than \(limit) bytes") }
            guard try await self.fill() else { throw Self.malformed("the body ended inside part headers") }
        }
    }

    private static func firstIndex(of needle: [UInt8], in buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { haystack -> Int? in
            guard haystack.count >= needle.count, let base = haystack.baseAddress else { return nil }
            var start = 0
            let lastStart = haystack.count - needle.count
            while start <= lastStart {
                guard let hit = memchr(base + start, Int32(needle[0]), lastStart - start + 1) else { return nil }
                let offset = base.distance(to: UnsafeRawPointer(hit))
                if needle.withUnsafeBytes({ memcmp(base + offset, $0.baseAddress!, needle.count) }) == 0 { return offset }
                start = offset + 1
            }
            return nil
        }
    }

    private static func malformed(_ detail: String) -> ServerError {
        ServerError.badRequest("The upload is not well-formed multipart/form-data: \(detail).")
    }

    /// `value; name=token; name="quoted \" string"` → the value and lowercased parameter names.
    static func parameters(_ header: String) -> (value: String, parameters: [String: String]) {
        var fields = [String]()
        var current = ""
        var quoted = false
        var escaped = false
        for character in header {
            if escaped {
                current.append(character)
                escaped = false
            } else if quoted && character == "\\" {
                current.append(character)
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
                current.append(character)
            } else if character == ";" && !quoted {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        var parameters = [String: String]()
        for field in fields.dropFirst() {
            guard let equals = field.firstIndex(of: "=") else { continue }
            let name = field[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = field[field.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
            }
            if parameters[name] == nil { parameters[name] = value }
        }
        return (fields[0].trimmingCharacters(in: .whitespaces), parameters)
    }
}
