/// The verdict on one threshold after a run, with the line the console and reports print.
public struct ThresholdResult: Sendable, Equatable, Codable {
    public enum Outcome: String, Sendable, Equatable, Codable {
        case passed
        case failed
        /// The metric was skipped (e.g. no CAP_NET_RAW for pcap) and the threshold is optional.
        case skipped
        /// The metric was not measured at all; this fails the run, since "not measured" is not "held".
        case missing
    }

    public var threshold: Threshold
    public var outcome: Outcome
    public var actual: Double?

    /// Whether this result lets the run pass.
    public var isSuccess: Bool { self.outcome == .passed || self.outcome == .skipped }

    /// `✓ checkin.p99 < 200ms  (actual 12.3ms)`.
    public var line: String {
        let kind = MetricCatalog.kind(of: self.threshold.metric) ?? .count
        let mark = self.isSuccess ? (self.outcome == .skipped ? "–" : "✓") : "✗"
        let detail: String
        switch self.outcome {
        case .passed, .failed:
            detail = "actual \(self.actual.map { Threshold.format($0, kind: kind) } ?? "?")"
        case .skipped:
            detail = "skipped: not measured in this run"
        case .missing:
            detail = self.threshold.optional ? "metric not measured" : "metric not measured, so the threshold cannot hold"
        }
        return "\(mark) \(self.threshold.description)  (\(detail))"
    }

    /// Evaluates every threshold against a snapshot. `skipped` names metrics the run could
    /// not measure on purpose (they are reported, and fail only non-optional thresholds).
    public static func evaluate(_ thresholds: [Threshold], metrics: [String: Double], skipped: Set<String> = []) -> [ThresholdResult] {
        thresholds.map { $0.evaluate(metrics: metrics, skipped: skipped) }
    }
}

extension Threshold {
    /// The verdict on this threshold for one snapshot.
    public func evaluate(metrics: [String: Double], skipped: Set<String> = []) -> ThresholdResult {
        if let actual = metrics[self.metric], !skipped.contains(self.metric) {
            let holds = !actual.isNaN && self.op.holds(actual, self.value)
            return ThresholdResult(threshold: self, outcome: holds ? .passed : .failed, actual: actual)
        }
        if skipped.contains(self.metric) {
            return ThresholdResult(threshold: self, outcome: self.optional ? .skipped : .missing, actual: nil)
        }
        return ThresholdResult(threshold: self, outcome: .missing, actual: nil)
    }
}
