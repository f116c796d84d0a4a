import Histogram
import Synchronization

/// Collects what a simulator run measures: per-operation latency in HdrHistograms, errors
/// by reason, counters and gauges, and a per-second timeline for the report's charts.
///
/// Latency is measured from the *intended* start time the ``ArrivalSchedule`` gave the
/// operation, not from when it actually started: when the fleet or the server falls behind,
/// the wait shows up as latency (no coordinated omission, as in wrk2).
///
/// Safe to call from any number of tasks: each operation has its own lock, and a record is a
/// histogram increment, so contention stays low at many thousands of records per second.
/// Failed operations are counted (with their reason) but not put into the latency
/// histograms, so `checkin.p99` describes the check-ins that worked and `checkin.errors`
/// the ones that did not.
public final class MetricsRecorder: Sendable {
    /// The scenario clock's zero: timeline seconds and `.rate` are measured from here. It is
    /// the recorder's creation until ``startClock(at:)`` moves it, which the runner does once
    /// set-up (server, printers, AD, capture, fleet) is done, so a slow set-up on a busy
    /// machine never eats into the scenario's phases.
    public var origin: ContinuousClock.Instant {
        self.base + .nanoseconds(self.startOffsetNanoseconds.load(ordering: .relaxed))
    }
    private let base: ContinuousClock.Instant
    private let startOffsetNanoseconds = Atomic<Int64>(0)
    private let cells: [SimOperation: OperationCell]
    private let figures = Mutex(Figures())

    /// Values above this are clamped (an hour is a broken run, not a latency).
    static let maximumLatencyMicroseconds: UInt64 = 3_600_000_000

    public init(origin: ContinuousClock.Instant = .now) {
        self.base = origin
        var cells: [SimOperation: OperationCell] = [:]
        for operation in SimOperation.allCases {
            cells[operation] = OperationCell()
        }
        self.cells = cells
    }

    /// Starts the scenario clock at `instant`: ``origin`` moves there. Call it once, before
    /// the first operation is recorded (anything recorded earlier lands in second 0).
    public func startClock(at instant: ContinuousClock.Instant = .now) {
        let offset = instant - self.base
        let nanoseconds = offset.components.seconds * 1_000_000_000 + offset.components.attoseconds / 1_000_000_000
        self.startOffsetNanoseconds.store(nanoseconds, ordering: .relaxed)
    }

    // MARK: - Recording

    /// Records one finished operation. `error` is a short machine-readable reason
    /// (`token_expired`, `http_503`, `timeout`) when it failed, nil when it succeeded.
    public func record(_ operation: SimOperation, intendedStart: ContinuousClock.Instant, completion: ContinuousClock.Instant = .now, error: String? = nil) {
        let latency = completion - intendedStart
        let second = Self.second(of: completion - self.origin)
        self.record(operation, latencyMicroseconds: Self.microseconds(latency), second: second, error: error)
    }

    /// The same, with times in nanoseconds since ``origin`` (for callers that keep offsets).
    public func record(_ operation: SimOperation, intendedStartNanoseconds: Int64, completionNanoseconds: Int64, error: String? = nil) {
        let latency = Duration.nanoseconds(completionNanoseconds - intendedStartNanoseconds)
        self.record(operation, latencyMicroseconds: Self.microseconds(latency), second: Self.second(of: .nanoseconds(completionNanoseconds)), error: error)
    }

    private func record(_ operation: SimOperation, latencyMicroseconds: UInt64, second: Int, error: String?) {
        self.cells[operation]!.state.withLock { state in
            state.record(latencyMicroseconds: latencyMicroseconds, second: second, error: error)
        }
    }

    /// An arrival the fleet could not start in time (all workers busy): counted in
    /// `iterations.dropped`, as k6 does, so overload is visible instead of hidden.
    public func dropIteration(_ operation: SimOperation, at instant: ContinuousClock.Instant = .now) {
        self.increment("iterations.dropped", at: instant)
        self.cells[operation]!.state.withLock { $0.dropped += 1 }
    }

    /// Adds to a counter (`metadata.lost`, `driver.bytes`, …); the per-second deltas go
    /// into the timeline, so `driver.bytes` becomes a chart.
    public func increment(_ counter: String, by amount: Double = 1, at instant: ContinuousClock.Instant = .now) {
        let second = Self.second(of: instant - self.origin)
        self.figures.withLock { figures in
            figures.counters[counter, default: 0] += amount
            figures.timeline[second, default: [:]][counter, default: 0] += amount
        }
    }

    /// Sets a figure computed at the end (cross-check results, `driver.converge_seconds`,
    /// pcap counts). Replaces any counter of the same name.
    public func set(_ name: String, _ value: Double) {
        self.figures.withLock { $0.counters[name] = value }
    }

    /// Marks a metric as deliberately not measured (pcap without CAP_NET_RAW), with why.
    public func skip(_ name: String, reason: String) {
        self.figures.withLock { $0.skipped[name] = reason }
    }

    // MARK: - Reading

    /// Seconds since ``origin``.
    public func elapsed(at instant: ContinuousClock.Instant = .now) -> Double {
        (instant - self.origin).seconds
    }

    /// Every metric in ``MetricCatalog`` naming that has been measured, in its catalog unit
    /// (latency in milliseconds). Latency statistics appear once an operation has a success;
    /// counters appear once recorded or set, so a figure the run never computed is missing
    /// rather than a reassuring zero. `.rate` divides by `elapsed` (default: now − origin).
    public func snapshot(elapsed: Double? = nil) -> [String: Double] {
        let seconds = Swift.max(elapsed ?? self.elapsed(), 0.001)
        var values: [String: Double] = [:]
        var totalErrors = 0.0
        for operation in SimOperation.allCases {
            let summary = self.summary(of: operation, elapsed: seconds)
            let prefix = operation.rawValue
            values["\(prefix).count"] = Double(summary.count)
            values["\(prefix).errors"] = Double(summary.errors)
            values["\(prefix).rate"] = summary.rate
            values["\(prefix).error_rate"] = summary.errorRate
            totalErrors += Double(summary.errors)
            if summary.count > 0 {
                for (name, value) in summary.latencies {
                    values["\(prefix).\(name)"] = value
                }
            }
        }
        let figures = self.figures.withLock { $0 }
        values["iterations.dropped"] = figures.counters["iterations.dropped"] ?? 0
        for (name, value) in figures.counters {
            values[name] = value
        }
        values["errors.total"] = totalErrors + (figures.counters["errors.total"] ?? 0)
        return values
    }

    /// Metrics marked with ``skip(_:reason:)``, with their reasons.
    public func skipped() -> [String: String] {
        self.figures.withLock { $0.skipped }
    }

    /// The statistics of one operation, latency in milliseconds.
    public func summary(of operation: SimOperation, elapsed: Double? = nil) -> OperationSummary {
        let seconds = Swift.max(elapsed ?? self.elapsed(), 0.001)
        return self.cells[operation]!.state.withLock { state in
            OperationSummary(operation: operation, histogram: state.histogram, errors: state.errors, dropped: state.dropped, elapsed: seconds)
        }
    }

    /// Error counts by operation and reason, for "errors by reason" in reports.
    public func errorsByReason() -> [String: [String: Int]] {
        var result: [String: [String: Int]] = [:]
        for operation in SimOperation.allCases {
            let reasons = self.cells[operation]!.state.withLock { $0.reasons }
            if !reasons.isEmpty { result[operation.rawValue] = reasons }
        }
        return result
    }

    /// One point per second that saw activity, in order.
    public func timeline() -> [TimelinePoint] {
        var points: [Int: TimelinePoint] = [:]
        for operation in SimOperation.allCases {
            let intervals = self.cells[operation]!.state.withLock { $0.intervals }
            for (second, interval) in intervals {
                points[second, default: TimelinePoint(second: second)].operations[operation.rawValue] = interval.summary
            }
        }
        let counters = self.figures.withLock { $0.timeline }
        for (second, deltas) in counters {
            points[second, default: TimelinePoint(second: second)].counters = deltas
        }
        return points.values.sorted { $0.second < $1.second }
    }

    // MARK: - Merging (`--shard`, DESIGN.md §1.5)

    /// Everything this recorder holds, in a form that can be written and merged elsewhere.
    public func exportState() -> State {
        var operations: [String: OperationState] = [:]
        for operation in SimOperation.allCases {
            operations[operation.rawValue] = self.cells[operation]!.state.withLock { $0 }
        }
        let figures = self.figures.withLock { $0 }
        return State(operations: operations, counters: figures.counters, timeline: figures.timeline, skipped: figures.skipped)
    }

    /// Adds another recorder's measurements: histograms are added bucket by bucket, so the
    /// merged percentiles are exact, not averages of percentiles.
    public func merge(_ other: State) {
        for operation in SimOperation.allCases {
            guard let incoming = other.operations[operation.rawValue] else { continue }
            self.cells[operation]!.state.withLock { $0.merge(incoming) }
        }
        self.figures.withLock { figures in
            for (name, value) in other.counters {
                figures.counters[name, default: 0] += value
            }
            for (second, deltas) in other.timeline {
                for (name, value) in deltas {
                    figures.timeline[second, default: [:]][name, default: 0] += value
                }
            }
            figures.skipped.merge(other.skipped) { first, _ in first }
        }
    }

    /// Merges another live recorder (same process).
    public func merge(_ other: MetricsRecorder) {
        self.merge(other.exportState())
    }

    /// A recorder's contents, Codable for sharded runs.
    public struct State: Codable, Sendable {
        public var operations: [String: OperationState]
        public var counters: [String: Double]
        public var timeline: [Int: [String: Double]]
        public var skipped: [String: String]
    }

    /// One operation's histograms and error counts.
    public struct OperationState: Codable, Sendable {
        /// Latency of successes, microseconds.
        var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
        var errors = 0
        var dropped = 0
        var reasons: [String: Int] = [:]
        var intervals: [Int: Interval] = [:]

        mutating func record(latencyMicroseconds: UInt64, second: Int, error: String?) {
            // Mutated in place through the defaulted subscript: copying an Interval out and
            // back would copy its histogram's buckets on every record.
            if let error {
                self.errors += 1
                self.reasons[error, default: 0] += 1
                self.intervals[second, default: Interval()].errors += 1
            } else {
                self.histogram.record(latencyMicroseconds)
                self.intervals[second, default: Interval()].histogram.record(latencyMicroseconds)
            }
        }

        mutating func merge(_ other: OperationState) {
            self.histogram.add(other.histogram)
            self.errors += other.errors
            self.dropped += other.dropped
            self.reasons.merge(other.reasons, uniquingKeysWith: +)
            for (second, interval) in other.intervals {
                self.intervals[second, default: Interval()].histogram.add(interval.histogram)
                self.intervals[second, default: Interval()].errors += interval.errors
            }
        }
    }

    /// One second of one operation: a coarse histogram (two significant digits is plenty
    /// for a chart and keeps a long run's timeline small) and its errors.
    struct Interval: Codable, Sendable {
        var histogram = Histogram<UInt32>(numberOfSignificantValueDigits: .two)
        var errors = 0

        var summary: TimelinePoint.OperationInterval {
            let count = Int(self.histogram.totalCount)
            func ms(_ value: UInt64) -> Double { Double(value) / 1000 }
            return TimelinePoint.OperationInterval(
                count: count, errors: self.errors,
                p50: count > 0 ? ms(self.histogram.valueAtPercentile(50)) : nil,
                p90: count > 0 ? ms(self.histogram.valueAtPercentile(90)) : nil,
                p99: count > 0 ? ms(self.histogram.valueAtPercentile(99)) : nil,
                max: count > 0 ? ms(self.histogram.max) : nil
            )
        }
    }

    private struct Figures: Sendable {
        var counters: [String: Double] = [:]
        var timeline: [Int: [String: Double]] = [:]
        var skipped: [String: String] = [:]
    }

    private final class OperationCell: Sendable {
        let state = Mutex(OperationState())
    }

    static func microseconds(_ duration: Duration) -> UInt64 {
        let parts = duration.components
        guard parts.seconds >= 0 else { return 0 }
        let micros = UInt64(parts.seconds) &* 1_000_000 &+ UInt64(Swift.max(0, parts.attoseconds) / 1_000_000_000_000)
        return Swift.min(micros, self.maximumLatencyMicroseconds)
    }

    static func second(of offset: Duration) -> Int {
        Swift.max(0, Int(offset.components.seconds))
    }
}
