import Histogram

/// One operation's figures for the summary table and report.json: counts, the rate over the
/// run, and latency statistics in milliseconds (nil when nothing succeeded).
public struct OperationSummary: Sendable, Equatable, Codable {
    public var operation: SimOperation
    /// Successful completions.
    public var count: Int
    public var errors: Int
    /// Arrivals that were never started because the fleet could not keep up.
    public var dropped: Int
    /// Successful completions per second over the run.
    public var rate: Double
    public var p50: Double?
    public var p90: Double?
    public var p95: Double?
    public var p99: Double?
    public var p999: Double?
    public var max: Double?
    public var mean: Double?

    /// errors / (count + errors); 0 when nothing ran.
    public var errorRate: Double {
        self.count + self.errors == 0 ? 0 : Double(self.errors) / Double(self.count + self.errors)
    }

    /// The latency statistics by their metric suffix (`p99`, `max`, `mean`), when measured.
    public var latencies: [(name: String, value: Double)] {
        let pairs: [(String, Double?)] = [
            ("p50", self.p50), ("p90", self.p90), ("p95", self.p95), ("p99", self.p99), ("p999", self.p999),
            ("max", self.max), ("mean", self.mean),
        ]
        return pairs.compactMap { name, value in value.map { (name, $0) } }
    }

    public init(operation: SimOperation, count: Int, errors: Int, dropped: Int, rate: Double,
                p50: Double? = nil, p90: Double? = nil, p95: Double? = nil, p99: Double? = nil, p999: Double? = nil,
                max: Double? = nil, mean: Double? = nil) {
        self.operation = operation
        self.count = count
        self.errors = errors
        self.dropped = dropped
        self.rate = rate
        self.p50 = p50
        self.p90 = p90
        self.p95 = p95
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.mean = mean
    }

    /// From a microsecond histogram.
    init(operation: SimOperation, histogram: Histogram<UInt64>, errors: Int, dropped: Int, elapsed: Double) {
        let count = Int(histogram.totalCount)
        self.init(operation: operation, count: count, errors: errors, dropped: dropped, rate: Double(count) / elapsed)
        guard count > 0 else { return }
        func ms(_ micros: UInt64) -> Double { Double(micros) / 1000 }
        self.p50 = ms(histogram.valueAtPercentile(50))
        self.p90 = ms(histogram.valueAtPercentile(90))
        self.p95 = ms(histogram.valueAtPercentile(95))
        self.p99 = ms(histogram.valueAtPercentile(99))
        self.p999 = ms(histogram.valueAtPercentile(99.9))
        self.max = ms(histogram.max)
        self.mean = histogram.mean / 1000
    }
}
