import NIOCore
import PrintProtocols

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Test helpers for page counting: fixtures on disk and chunked feeding.
enum PageCountingFixtures {
    /// The fixtures folder, found from this file's path so no bundle resources are needed.
    static let directory: String = {
        var path = #filePath
        // …/Tests/PrintProtocolsTests/PageCounting/PageCountingSupport.swift → …/Tests/PrintProtocolsTests/Fixtures
        for _ in 0..<2 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/Fixtures"
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        try bytes(atPath: directory + "/" + name)
    }

    static func bytes(atPath path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw FixtureError(path: path) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let read = fread(&chunk, 1, chunk.count, file)
            if read <= 0 { break }
            bytes.append(contentsOf: chunk[0..<read])
        }
        return bytes
    }

    struct FixtureError: Error, CustomStringConvertible {
        var path: String
        var description: String { "missing fixture \(path)" }
    }
}

/// A deterministic random source (SplitMix64), so a failing chunking is reproducible.
struct SeededGenerator: RandomNumberGenerator {
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

enum Chunked {
    /// Counts `bytes` fed in chunks of the given sizes (cycled), through raw pointers.
    static func count(_ bytes: [UInt8], sizes: [Int], limits: PageCounter.Limits = .init()) -> PageCount {
        var counter = PageCounter(limits: limits)
        var offset = 0
        var next = 0
        bytes.withUnsafeBytes { all in
            while offset < all.count {
                let size = max(1, sizes[next % sizes.count])
                next += 1
                let end = min(offset + size, all.count)
                counter.consume(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                offset = end
            }
        }
        return counter.finish()
    }

    /// Counts `bytes` fed one byte at a time.
    static func byteByByte(_ bytes: [UInt8]) -> PageCount {
        count(bytes, sizes: [1])
    }

    /// Counts `bytes` in random chunks of 1…`maxChunk` bytes.
    static func random(_ bytes: [UInt8], seed: UInt64, maxChunk: Int = 4096) -> PageCount {
        var generator = SeededGenerator(seed: seed)
        let sizes = (0..<257).map { _ in Int.random(in: 1...maxChunk, using: &generator) }
        return count(bytes, sizes: sizes)
    }

    /// Counts `bytes` fed as NIO `ByteBuffer`s of `size` bytes.
    static func byteBuffers(_ bytes: [UInt8], size: Int) -> PageCount {
        var counter = PageCounter()
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + size, bytes.count)
            counter.consume(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
        }
        return counter.finish()
    }

    /// Every way of chunking the tests use; each must give `PageCounter.count(bytes)`.
    static func allWays(_ bytes: [UInt8]) -> [(String, PageCount)] {
        [
            ("byte by byte", byteByByte(bytes)),
            ("2-byte chunks", count(bytes, sizes: [2])),
            ("7-byte chunks", count(bytes, sizes: [7])),
            ("random 1...16", random(bytes, seed: 1, maxChunk: 16)),
            ("random 1...4096", random(bytes, seed: 2)),
            ("random 1...65536", random(bytes, seed: 3, maxChunk: 65536)),
            ("ByteBuffer 1000", byteBuffers(bytes, size: 1000)),
        ]
    }
}

/// Text as bytes, with `␛` (U+241B) standing for ESC so PCL and UEL stay readable.
func bytes(_ text: String) -> [UInt8] {
    var result: [UInt8] = []
    for scalar in text.unicodeScalars {
        if scalar == "\u{241B}" {
            result.append(0x1B)
        } else {
            result.append(contentsOf: String(scalar).utf8)
        }
    }
    return result
}
