/// The open model's intended start times: when each arrival *should* begin, computed from
/// the rate alone, whatever the system under test is doing (k6's arrival-rate executors,
/// wrk2's constant throughput). Latency is then measured from these times, so a stalled
/// server shows up as latency instead of silently slowing the load (no coordinated omission).
///
/// Arrivals are deterministic: the k-th arrival (k = 0, 1, …) happens when the integral of
/// the rate since the schedule's start reaches k + ½. For a constant rate that is a fixed
/// interval; for a linear ramp the time comes from the quadratic, solved in closed form. The
/// integral carries over from one segment to the next, so the total count is the integral of
/// the rate rounded to the nearest integer, and a zero-rate segment simply produces nothing.
/// It is a `Sequence`, never an array: a million arrivals cost nothing until iterated.
public struct ArrivalSchedule: Sequence, Sendable {
    /// A stretch of time with a constant rate or a linear ramp.
    public struct Segment: Sendable, Equatable {
        public var start: Duration
        public var duration: Duration
        public var rate: RateSpec

        public init(start: Duration, duration: Duration, rate: RateSpec) {
            self.start = start
            self.duration = duration
            self.rate = rate
        }
    }

    public let segments: [Segment]

    /// Segments are used in the order given; each one's `start` places its arrivals in time.
    public init(segments: [Segment]) {
        self.segments = segments
    }

    /// A single segment starting at `start`.
    public init(rate: RateSpec, duration: Duration, start: Duration = .zero) {
        self.init(segments: [Segment(start: start, duration: duration, rate: rate)])
    }

    /// The integral of the rate: how many arrivals the schedule produces (±½ before rounding).
    public var expectedCount: Double {
        self.segments.reduce(0) { $0 + $1.rate.expectedArrivals(over: $1.duration) }
    }

    public func makeIterator() -> Iterator {
        Iterator(segments: self.segments)
    }

    /// Produces intended start times in seconds from run start, monotonically non-decreasing.
    public struct Iterator: IteratorProtocol, Sendable {
        private let segments: [Segment]
        private var index = 0
        /// Arrivals-worth of rate integrated before the current segment began.
        private var integratedBefore = 0.0
        /// The next arrival fires when the running integral reaches this value.
        private var nextTarget = 0.5

        init(segments: [Segment]) {
            self.segments = segments
        }

        public mutating func next() -> Double? {
            while self.index < self.segments.count {
                let segment = self.segments[self.index]
                let length = segment.duration.seconds
                let a = Swift.max(0, segment.rate.initial.perSecond)
                let b = Swift.max(0, segment.rate.final.perSecond)
                let area = (a + b) / 2 * length
                let remaining = self.nextTarget - self.integratedBefore
                if length > 0, area > 0, remaining <= area {
                    // Solve a·t + (s/2)·t² = remaining, s = (b − a) / length, in the form that
                    // stays stable when s is zero or negative: t = 2c / (a + √(a² + 2sc)).
                    let slope = (b - a) / length
                    let discriminant = Swift.max(0, a * a + 2 * slope * remaining)
                    let denominator = a + discriminant.squareRoot()
                    var offset = denominator > 0 ? 2 * remaining / denominator : 0
                    offset = Swift.min(Swift.max(offset, 0), length)
                    self.nextTarget += 1
                    return segment.start.seconds + offset
                }
                self.integratedBefore += area
                self.index += 1
            }
            return nil
        }
    }
}
