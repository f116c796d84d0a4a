/// "Did you mean …?" for unknown keys, enum values and metric names.
enum Suggestion {
    /// The closest candidate by edit distance, if it is close enough to be a plausible typo
    /// (at most a third of the word, and at least 2 edits allowed).
    static func closest(to word: String, in candidates: some Sequence<String>) -> String? {
        let lowered = word.lowercased()
        var best: (String, Int)?
        for candidate in candidates {
            let distance = self.editDistance(lowered, candidate.lowercased())
            if best == nil || distance < best!.1 { best = (candidate, distance) }
        }
        guard let (candidate, distance) = best else { return nil }
        return distance <= max(2, word.count / 3) ? candidate : nil
    }

    /// "did you mean `x`?" or nil.
    static func didYouMean(_ word: String, in candidates: some Sequence<String>) -> String? {
        self.closest(to: word, in: candidates).map { "did you mean `\($0)`?" }
    }

    /// "did you mean `x`? valid: a, b, c" — for small closed sets, always lists them.
    static func enumHint(_ word: String, valid: [String]) -> String {
        let list = "valid values: " + valid.joined(separator: ", ")
        if let guess = self.closest(to: word, in: valid) { return "did you mean `\(guess)`? \(list)" }
        return list
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
