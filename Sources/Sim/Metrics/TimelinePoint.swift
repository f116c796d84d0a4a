/// One second of a run, for the "over time" charts: what each operation did and how much
/// each counter grew in that second.
public struct TimelinePoint: Sendable, Equatable, Codable {
    /// Seconds since run start (the second [second, second + 1)).
    public var second: Int
    /// Keyed by operation name (`checkin`).
    public var operations: [String: OperationInterval]
    /// Per-second increments of counters (`driver.bytes`, `iterations.dropped`).
    public var counters: [String: Double]

    public init(second: Int, operations: [String: OperationInterval] = [:], counters: [String: Double] = [:]) {
        self.second = second
        self.operations = operations
        self.counters = counters
    }

    /// One operation in one second; latency in milliseconds, nil when nothing succeeded.
    public struct OperationInterval: Sendable, Equatable, Codable {
        public var count: Int
        public var errors: Int
        public var p50: Double?
        public var p90: Double?
        public var p99: Double?
        public var max: Double?

        public init(count: Int, errors: Int, p50: Double? = nil, p90: Double? = nil, p99: Double? = nil, max: Double? = nil) {
            self.count = count
            self.errors = errors
            self.p50 = p50
            self.p90 = p90
            self.p99 = p99
            self.max = max
        }
    }
}
