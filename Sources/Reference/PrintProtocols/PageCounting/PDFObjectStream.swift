import CompressNIO
import NIOCore

/// Reads a PDF object stream (ISO 32000-1 §7.5.7): `/N` pairs of integers
/// "object-number byte-offset" in the first `/First` bytes, then the objects
/// themselves, without `obj`/`endobj`.
enum PDFObjectStream {
    /// Decodes `data` (the stream's raw bytes) and records its objects into
    /// `tree`. Returns false when it could not be decoded within the limits.
    static func read(
        _ data: [UInt8],
        summary: PDFDictionarySummary,
        limits: PageCounter.Limits,
        inflatedBudget: inout Int,
        into tree: inout PDFPageTree
    ) -> Bool {
        guard let objectCount = summary.objectCount, let first = summary.firstOffset,
            objectCount >= 0, first >= 0
        else { return false }

        let decoded: [UInt8]
        if summary.filters.isEmpty {
            decoded = data
        } else {
            let cap = min(limits.maxInflatedObjectStreamBytes, inflatedBudget)
            guard let inflated = inflate(data, cap: cap) else { return false }
            inflatedBudget -= inflated.count
            decoded = inflated
        }
        guard first <= decoded.count, objectCount <= first / 2 + 1 else { return false }

        return decoded.withUnsafeBytes { bytes in
            // The header: object numbers and offsets relative to /First.
            var lexer = PDFLexer()
            var index = 0
            var header: [Int] = []
            header.reserveCapacity(objectCount * 2)
            let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[0..<first])
            while header.count < objectCount * 2 {
                guard let token = lexer.next(headerBytes, &index) ?? lexer.finish() else { break }
                guard case .integer(let value) = token, value >= 0 else { return false }
                header.append(value)
            }
            guard header.count == objectCount * 2 else { return false }

            var entries: [(number: Int, offset: Int)] = []
            entries.reserveCapacity(objectCount)
            for pair in 0..<objectCount {
                let offset = header[pair * 2 + 1]
                guard offset <= decoded.count - first else { return false }
                entries.append((header[pair * 2], first + offset))
            }
            entries.sort { $0.offset < $1.offset }

            for (position, entry) in entries.enumerated() {
                let end = position + 1 < entries.count ? entries[position + 1].offset : decoded.count
                let object = UnsafeRawBufferPointer(rebasing: bytes[entry.offset..<end])
                if let summary = topLevelDictionary(object) {
                    tree.record(object: entry.number, summary)
                }
            }
            return true
        }
    }

    /// The summary of the dictionary an object starts with, if it is one.
    private static func topLevelDictionary(_ bytes: UnsafeRawBufferPointer) -> PDFDictionarySummary? {
        var lexer = PDFLexer()
        var index = 0
        guard let opening = lexer.next(bytes, &index), opening == .dictionaryOpen else { return nil }
        var reader = PDFDictionaryReader()
        while let token = lexer.next(bytes, &index) ?? lexer.finish() {
            if let summary = reader.feed(token, text: lexer.text) { return summary }
        }
        return nil
    }

    /// Inflates a zlib (or, failing that, raw deflate) stream, refusing to grow past `cap` bytes.
    static func inflate(_ data: [UInt8], cap: Int) -> [UInt8]? {
        if let output = inflate(data, cap: cap, algorithm: .zlib) { return output }
        return inflate(data, cap: cap, algorithm: .deflate)
    }

    private static func inflate(_ data: [UInt8], cap: Int, algorithm: ZlibAlgorithm) -> [UInt8]? {
        guard cap > 0, let decompressor = try? ZlibDecompressor(algorithm: algorithm) else { return nil }
        var input = ByteBuffer(bytes: data)
        var output = ByteBufferAllocator().buffer(capacity: min(cap, max(data.count * 4, 16 * 1024)))
        while true {
            do {
                // Returns at the end of the deflate stream, or when the input ran out (a truncated stream).
                try decompressor.inflate(from: &input, to: &output)
                break
            } catch let error as CompressNIOError where error == .bufferOverflow {
                guard output.readableBytes < cap else { return nil }
                output.reserveCapacity(minimumWritableBytes: min(max(output.readableBytes, 16 * 1024), cap - output.readableBytes))
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                break
            } catch {
                return nil
            }
        }
        guard output.readableBytes <= cap, output.readableBytes > 0 || data.isEmpty else { return nil }
        return output.readBytes(length: output.readableBytes)
    }
}
