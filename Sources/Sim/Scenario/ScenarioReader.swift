import Foundation
import Yams

/// Walks a composed YAML tree and collects every problem with its position, instead of
/// stopping at the first (Codable would lose the marks and stop early).
///
/// Each reader returns nil after recording an issue, so the schema code reads as a list of
/// fields and the loader can keep going to find the next mistake.
struct ScenarioReader {
    let file: String
    private(set) var issues: [ScenarioIssue] = []

    init(file: String) {
        self.file = file
    }

    /// A mapping's keys, with the key nodes kept for positions.
    struct Fields {
        var values: [String: Node] = [:]
        var keys: [String: Node] = [:]
        var mark: Mark?

        subscript(_ key: String) -> Node? {
            guard let node = self.values[key] else { return nil }
            return node.isNull ? nil : node
        }

        func has(_ key: String) -> Bool { self[key] != nil }
    }

    mutating func error(_ node: Node?, _ path: String, _ message: String, suggestion: String? = nil) {
        self.add(.error, node?.mark, path, message, suggestion)
    }

    mutating func warning(_ node: Node?, _ path: String, _ message: String, suggestion: String? = nil) {
        self.add(.warning, node?.mark, path, message, suggestion)
    }

    /// For positions computed from the text rather than taken from a node.
    mutating func error(line: Int, column: Int, _ path: String, _ message: String, suggestion: String? = nil) {
        self.issues.append(ScenarioIssue(file: self.file, line: line, column: column, path: path, message: message, suggestion: suggestion))
    }

    mutating func error(at mark: Mark?, _ path: String, _ message: String, suggestion: String? = nil) {
        self.add(.error, mark, path, message, suggestion)
    }

    private mutating func add(_ severity: ScenarioIssue.Severity, _ mark: Mark?, _ path: String, _ message: String, _ suggestion: String?) {
        self.issues.append(ScenarioIssue(
            severity: severity, file: self.file, line: mark?.line ?? 0, column: mark?.column ?? 0,
            path: path, message: message, suggestion: suggestion
        ))
    }

    /// Reads a mapping, reporting keys outside `allowed` with the closest valid key.
    mutating func mapping(_ node: Node, _ path: String, allowed: [String], what: String? = nil) -> Fields? {
        guard case .mapping(let mapping) = node else {
            self.error(node, path, "expected a mapping (key: value lines)\(what.map { " for \($0)" } ?? ""), got \(node.yamlKind)")
            return nil
        }
        var fields = Fields(mark: mapping.mark)
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                self.error(keyNode, path, "keys must be plain words, got \(keyNode.yamlKind)")
                continue
            }
            let childPath = Self.join(path, key)
            guard allowed.contains(key) else {
                let hint = Suggestion.didYouMean(key, in: allowed) ?? "valid keys: " + allowed.joined(separator: ", ")
                self.error(keyNode, childPath, "unknown key `\(key)`", suggestion: hint)
                continue
            }
            fields.values[key] = value
            fields.keys[key] = keyNode
        }
        return fields
    }

    /// Reports a required key that is absent (at the mapping's own position).
    mutating func require(_ fields: Fields, _ key: String, _ path: String, example: String) -> Node? {
        if let node = fields[key] { return node }
        self.error(at: fields.values[key]?.mark ?? fields.mark, Self.join(path, key), "required key is missing", suggestion: "e.g. \(key): \(example)")
        return nil
    }

    mutating func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let scalar) = node else {
            self.error(node, path, "expected a text value, got \(node.yamlKind)")
            return nil
        }
        return scalar.string
    }

    mutating func int(_ node: Node, _ path: String, min: Int? = nil, max: Int? = nil) -> Int? {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string.replacingOccurrences(of: "_", with: "")) else {
            self.error(node, path, "expected a whole number, got \(node.describedValue)")
            return nil
        }
        if let min, value < min {
            self.error(node, path, "must be at least \(min), got \(value)")
            return nil
        }
        if let max, value > max {
            self.error(node, path, "must be at most \(max), got \(value)")
            return nil
        }
        return value
    }

    mutating func number(_ node: Node, _ path: String, min: Double? = nil, max: Double? = nil) -> Double? {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string.replacingOccurrences(of: "_", with: "")), value.isFinite else {
            self.error(node, path, "expected a number, got \(node.describedValue)")
            return nil
        }
        if let min, value < min {
            self.error(node, path, "must be at least \(Self.plain(min)), got \(Self.plain(value))")
            return nil
        }
        if let max, value > max {
            self.error(node, path, "must be at most \(Self.plain(max)), got \(Self.plain(value))")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        guard case .scalar(let scalar) = node else {
            self.error(node, path, "expected true or false, got \(node.yamlKind)")
            return nil
        }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            self.error(node, path, "expected true or false, got \(node.describedValue)")
            return nil
        }
    }

    mutating func choice<Value: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, _ type: Value.Type) -> Value? where Value.RawValue == String {
        guard let text = self.string(node, path) else { return nil }
        if let value = Value(rawValue: text) { return value }
        let valid = Value.allCases.map(\.rawValue)
        self.error(node, path, "invalid value \"\(text)\"", suggestion: Suggestion.enumHint(text, valid: valid))
        return nil
    }

    /// A duration; `positive` refuses zero as well as negative values.
    mutating func duration(_ node: Node, _ path: String, positive: Bool = false) -> Duration? {
        guard case .scalar(let scalar) = node, let value = ScenarioUnits.duration(scalar.string) else {
            let bare = node.scalar.flatMap { Double($0.string) }
            self.error(node, path, "expected a duration like 250ms, 10s, 5m or 1h, got \(node.describedValue)",
                       suggestion: bare.map { "durations need a unit: \(ScenarioReader.plain($0))s or \(ScenarioReader.plain($0))ms?" })
            return nil
        }
        if value < .zero || (positive && value == .zero) {
            self.error(node, path, "must be \(positive ? "greater than zero" : "zero or more"), got \(node.describedValue)")
            return nil
        }
        return value
    }

    mutating func size(_ node: Node, _ path: String) -> Int? {
        guard case .scalar(let scalar) = node, let value = ScenarioUnits.size(scalar.string) else {
            self.error(node, path, "expected a size like 512KB or 20MB (1024-based), got \(node.describedValue)")
            return nil
        }
        guard value > 0 else {
            self.error(node, path, "must be greater than zero, got \(node.describedValue)")
            return nil
        }
        return value
    }

    /// The most arrivals per second one scenario can ask for: far above what one machine
    /// sustains, low enough to catch a unit slip (`20/ms` does not exist; `2000000/s` is a typo).
    static let maximumRate = 100_000.0

    mutating func rate(_ node: Node, _ path: String) -> Rate? {
        guard case .scalar(let scalar) = node, let rate = ScenarioUnits.rate(scalar.string) else {
            self.error(node, path, "expected a rate like 20/s, 300/m or 1000/h, got \(node.describedValue)")
            return nil
        }
        if rate.perSecond < 0 {
            self.error(node, path, "a rate cannot be negative, got \(node.describedValue)")
            return nil
        }
        if rate.perSecond > Self.maximumRate {
            self.error(node, path, "\(scalar.string) is above the simulator's limit of \(Int(Self.maximumRate))/s")
            return nil
        }
        return rate
    }

    /// A constant rate (`20/s`) or a ramp (`{ from: 0/s, to: 50/s }`).
    mutating func rateSpec(_ node: Node, _ path: String) -> RateSpec? {
        if case .scalar = node {
            return self.rate(node, path).map(RateSpec.constant)
        }
        guard case .mapping = node else {
            self.error(node, path, "expected a rate like 20/s or a ramp like { from: 0/s, to: 50/s }, got \(node.yamlKind)")
            return nil
        }
        guard let fields = self.mapping(node, path, allowed: ["from", "to"]) else { return nil }
        let from = self.require(fields, "from", path, example: "0/s").flatMap { self.rate($0, Self.join(path, "from")) }
        let to = self.require(fields, "to", path, example: "50/s").flatMap { self.rate($0, Self.join(path, "to")) }
        guard let from, let to else { return nil }
        return .ramp(from: from, to: to)
    }

    /// Relative weights keyed by the values of an enum; at least one must be positive.
    mutating func weights<Key: RawRepresentable & CaseIterable & Hashable>(_ node: Node, _ path: String, _ type: Key.Type) -> [Key: Double]? where Key.RawValue == String {
        let valid = Key.allCases.map(\.rawValue)
        guard let fields = self.mapping(node, path, allowed: valid, what: "weights like { \(valid[0]): 1 }") else { return nil }
        var result: [Key: Double] = [:]
        var ok = true
        for key in valid {
            guard let value = fields[key] else { continue }
            if let weight = self.number(value, Self.join(path, key), min: 0) {
                result[Key(rawValue: key)!] = weight
            } else {
                ok = false
            }
        }
        guard ok else { return nil }
        guard result.values.contains(where: { $0 > 0 }) else {
            self.error(at: fields.mark, path, "at least one weight must be greater than zero", suggestion: "valid keys: " + valid.joined(separator: ", "))
            return nil
        }
        return result
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    static func plain(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

extension Node {
    var isNull: Bool {
        guard case .scalar(let scalar) = self else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// "a mapping", "a list", or the scalar in quotes: for "got …" in messages.
    var yamlKind: String {
        switch self {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let scalar): "\"\(scalar.string)\""
        case .alias: "an alias"
        }
    }

    var describedValue: String { self.yamlKind }
}
