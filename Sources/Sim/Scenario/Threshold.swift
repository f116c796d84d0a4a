import Foundation

/// A pass/fail rule on one metric, `metric op value` (k6 thresholds): the run exits 0 only
/// when every threshold holds.
///
/// Values are normalised to the metric's unit when parsed (``MetricCatalog/Kind``): latency
/// in milliseconds, fractions as 0…1, bytes, seconds. So `checkin.p99 < 0.2s` and
/// `checkin.p99 < 200ms` are the same threshold.
public struct Threshold: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Operator: String, Sendable, Equatable, Codable, CaseIterable {
        case lessThan = "<"
        case lessOrEqual = "<="
        case greaterThan = ">"
        case greaterOrEqual = ">="
        case equal = "=="
        case notEqual = "!="

        /// Whether `actual op limit` holds.
        public func holds(_ actual: Double, _ limit: Double) -> Bool {
            switch self {
            case .lessThan: actual < limit
            case .lessOrEqual: actual <= limit
            case .greaterThan: actual > limit
            case .greaterOrEqual: actual >= limit
            case .equal: actual == limit
            case .notEqual: actual != limit
            }
        }
    }

    public var metric: String
    public var op: Operator
    /// In the metric's unit (milliseconds for latency).
    public var value: Double
    /// The value as written, for messages (`200ms`).
    public var valueText: String
    /// An optional threshold whose metric was skipped (no capture rights, say) does not fail the run.
    public var optional: Bool

    public init(metric: String, op: Operator, value: Double, valueText: String? = nil, optional: Bool = false) {
        self.metric = metric
        self.op = op
        self.value = value
        self.valueText = valueText ?? Threshold.format(value, kind: MetricCatalog.kind(of: metric) ?? .count)
        self.optional = optional
    }

    public var description: String {
        "\(self.metric) \(self.op.rawValue) \(self.valueText)\(self.optional ? " (optional)" : "")"
    }

    /// Why a threshold could not be read: a message and, where one exists, a suggestion.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var suggestion: String?

        public var description: String {
            self.message + (self.suggestion.map { " (\($0))" } ?? "")
        }
    }

    /// Parses `"checkin.p99 < 200ms"`.
    public static func parse(_ text: String, optional: Bool = false) -> Result<Threshold, ParseError> {
        for (wrong, right) in [("=<", "<="), ("=>", ">="), ("=!", "!=")] where text.contains(wrong) {
            return .failure(ParseError(message: "invalid operator `\(wrong)` in \"\(text)\"", suggestion: "did you mean `\(right)`?"))
        }
        // Longest operators first, so `<=` is not read as `<`.
        let operators: [Operator] = [.lessOrEqual, .greaterOrEqual, .equal, .notEqual, .lessThan, .greaterThan]
        var found: (Operator, Range<String.Index>)?
        for op in operators {
            if let range = text.range(of: op.rawValue), found == nil || range.lowerBound < found!.1.lowerBound {
                found = (op, range)
            }
        }
        guard let (op, range) = found else {
            if text.contains("=") {
                return .failure(ParseError(message: "invalid operator in \"\(text)\"", suggestion: "use one of <, <=, >, >=, ==, !=; equality is `==`"))
            }
            return .failure(ParseError(message: "expected `metric op value` like \"checkin.p99 < 200ms\", got \"\(text)\"", suggestion: "operators: <, <=, >, >=, ==, !="))
        }
        let metric = text[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
        let value = text[range.upperBound...].trimmingCharacters(in: .whitespaces)
        if let first = value.first, "<>=!".contains(first) {
            return .failure(ParseError(message: "invalid operator `\(op.rawValue)\(first)` in \"\(text)\"", suggestion: "use one of <, <=, >, >=, ==, !="))
        }
        return self.make(metric: metric, op: op, value: value, optional: optional)
    }

    /// Builds a threshold from its parts (the mapping form `{metric, op, value}`).
    public static func make(metric: String, op opText: String, value: String, optional: Bool) -> Result<Threshold, ParseError> {
        guard let op = Operator(rawValue: opText.trimmingCharacters(in: .whitespaces)) else {
            return .failure(ParseError(message: "invalid operator `\(opText)`", suggestion: "use one of <, <=, >, >=, ==, !="))
        }
        return self.make(metric: metric, op: op, value: value, optional: optional)
    }

    static func make(metric: String, op: Operator, value: String, optional: Bool) -> Result<Threshold, ParseError> {
        guard !metric.isEmpty else {
            return .failure(ParseError(message: "missing metric name before `\(op.rawValue)`", suggestion: "e.g. checkin.p99 < 200ms"))
        }
        guard let kind = MetricCatalog.kind(of: metric) else {
            let suggestion = Suggestion.didYouMean(metric, in: MetricCatalog.names) ?? "see the metric list in docs/scenarios.md"
            return .failure(ParseError(message: "unknown metric `\(metric)`", suggestion: suggestion))
        }
        guard !value.isEmpty else {
            return .failure(ParseError(message: "missing value after `\(metric) \(op.rawValue)`", suggestion: self.example(for: kind)))
        }
        guard let number = self.value(value, kind: kind) else {
            return .failure(ParseError(
                message: "`\(value)` is not a valid value for `\(metric)` (\(self.unitName(kind)))",
                suggestion: self.example(for: kind)
            ))
        }
        return .success(Threshold(metric: metric, op: op, value: number, valueText: value, optional: optional))
    }

    /// Reads a value in the unit of `kind`; nil when the unit does not fit the metric.
    static func value(_ text: String, kind: MetricCatalog.Kind) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let plain = Double(trimmed), plain.isFinite { return plain }
        switch kind {
        case .latency:
            return ScenarioUnits.duration(trimmed).map { $0.seconds * 1000 }
        case .seconds:
            return ScenarioUnits.duration(trimmed).map(\.seconds)
        case .fraction:
            guard trimmed.hasSuffix("%"), let percent = Double(trimmed.dropLast().trimmingCharacters(in: .whitespaces)) else { return nil }
            return percent / 100
        case .bytes:
            return ScenarioUnits.size(trimmed).map(Double.init)
        case .throughput:
            return ScenarioUnits.rate(trimmed).map(\.perSecond)
        case .count:
            return nil
        }
    }

    static func unitName(_ kind: MetricCatalog.Kind) -> String {
        switch kind {
        case .latency: "a latency, compared in milliseconds"
        case .count: "a count"
        case .throughput: "operations per second"
        case .fraction: "a fraction"
        case .bytes: "bytes"
        case .seconds: "seconds"
        }
    }

    static func example(for kind: MetricCatalog.Kind) -> String {
        switch kind {
        case .latency: "use a duration like 200ms or 2s, or plain milliseconds"
        case .count: "use a plain number like 0"
        case .throughput: "use a number of operations per second like 20 or 20/s"
        case .fraction: "use a percentage like 5% or a fraction like 0.05"
        case .bytes: "use a size like 20MB or a plain byte count"
        case .seconds: "use a duration like 90s or 2m, or plain seconds"
        }
    }

    /// How a metric value is shown in reports: `12.3ms`, `4.0%`, `20.0MB`, `1234`.
    public static func format(_ value: Double, kind: MetricCatalog.Kind) -> String {
        guard value.isFinite else { return "\(value)" }
        switch kind {
        case .latency:
            if value >= 10_000 { return String(format: "%.1fs", value / 1000) }
            if value >= 100 { return String(format: "%.0fms", value) }
            return String(format: "%.1fms", value)
        case .seconds:
            return String(format: "%.1fs", value)
        case .fraction:
            return String(format: "%.2f%%", value * 100)
        case .bytes:
            if value >= 1024 * 1024 * 1024 { return String(format: "%.1fGB", value / (1024 * 1024 * 1024)) }
            if value >= 1024 * 1024 { return String(format: "%.1fMB", value / (1024 * 1024)) }
            if value >= 1024 { return String(format: "%.1fKB", value / 1024) }
            return String(format: "%.0fB", value)
        case .throughput:
            return String(format: "%.1f/s", value)
        case .count:
            return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.2f", value)
        }
    }
}
