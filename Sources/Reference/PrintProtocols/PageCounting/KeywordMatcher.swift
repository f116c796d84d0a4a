/// A streaming matcher for one fixed byte string (Knuth–Morris–Pratt), so a
/// keyword split across two chunks is still found.
struct KeywordMatcher: Sendable {
    let pattern: [UInt8]
    private let failure: [Int]
    /// Bytes of `pattern` matched so far.
    private(set) var matched = 0

    init(_ keyword: StaticString) {
        let pattern = keyword.withUTF8Buffer { Array($0) }
        var failure = [Int](repeating: 0, count: pattern.count)
        var k = 0
        for index in 1..<max(pattern.count, 1) {
            while k > 0 && pattern[index] != pattern[k] { k = failure[k - 1] }
            if pattern[index] == pattern[k] { k += 1 }
            failure[index] = k
        }
        self.pattern = pattern
        self.failure = failure
    }

    mutating func reset() { matched = 0 }

    /// Feeds one byte; true when it completes the keyword.
    @inline(__always)
    mutating func feed(_ byte: UInt8) -> Bool {
        while matched > 0 && pattern[matched] != byte { matched = failure[matched - 1] }
        if pattern[matched] == byte { matched += 1 }
        if matched == pattern.count {
            matched = 0
            return true
        }
        return false
    }

    /// Scans `bytes[start...]` for the keyword; returns the index just past it, or nil (state kept for the next chunk).
    mutating func scan(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        let count = bytes.count
        let first = pattern[0]
        while index < count {
            if matched == 0 {
                guard let hit = ByteScan.firstIndex(of: first, in: bytes, from: index) else { return nil }
                index = hit
            }
            let byte = bytes[index]
            index += 1
            if feed(byte) { return index }
        }
        return nil
    }
}
