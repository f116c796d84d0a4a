/// Turns relative weights into exact, deterministic choices: printer protocol mixes,
/// document types and page-count distributions.
enum WeightedAssignment {
    /// `count` items split by largest remainder, then interleaved (round-robin over the
    /// categories while each still has items left), in a stable key order.
    static func assign<Key: Hashable & Comparable>(count: Int, weights: [Key: Double]) -> [Key] {
        let keys = weights.keys.filter { (weights[$0] ?? 0) > 0 }.sorted()
        let total = keys.reduce(0) { $0 + (weights[$1] ?? 0) }
        guard count > 0, total > 0 else { return [] }
        var quotas: [Key: Int] = [:]
        var remainders: [(Key, Double)] = []
        for key in keys {
            let exact = Double(count) * (weights[key] ?? 0) / total
            quotas[key] = Int(exact.rounded(.down))
            remainders.append((key, exact - exact.rounded(.down)))
        }
        var missing = count - quotas.values.reduce(0, +)
        for (key, _) in remainders.sorted(by: { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }) where missing > 0 {
            quotas[key, default: 0] += 1
            missing -= 1
        }
        var result: [Key] = []
        result.reserveCapacity(count)
        while result.count < count {
            for key in keys where (quotas[key] ?? 0) > 0 {
                result.append(key)
                quotas[key]! -= 1
            }
        }
        return result
    }

    /// One weighted draw; nil when no weight is positive.
    static func pick<Key: Hashable & Comparable, G: RandomNumberGenerator>(_ weights: [Key: Double], using generator: inout G) -> Key? {
        let keys = weights.keys.filter { (weights[$0] ?? 0) > 0 }.sorted()
        let total = keys.reduce(0) { $0 + (weights[$1] ?? 0) }
        guard total > 0 else { return nil }
        var point = Double.random(in: 0..<total, using: &generator)
        for key in keys {
            point -= weights[key] ?? 0
            if point < 0 { return key }
        }
        return keys.last
    }
}
