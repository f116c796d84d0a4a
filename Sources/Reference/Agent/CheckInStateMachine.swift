/// When the agent checks in next (DESIGN.md §3): at the server's `next_checkin_seconds`;
/// never before a `Retry-After`; after errors, exponential back-off with full jitter
/// (a random wait between zero and `base × 2^failures`, capped) so a fleet that lost its
/// server does not come back in lock-step; and not at all once the credential is refused.
public struct CheckInStateMachine: Sendable {
    /// What to do after a check-in.
    public enum Action: Sendable, Equatable {
        case wait(Duration)
        case stop(reason: String)
    }

    public var baseDelay: Duration
    public var maximumDelay: Duration
    public private(set) var consecutiveFailures = 0

    public init(baseDelay: Duration = .seconds(1), maximumDelay: Duration = .seconds(300)) {
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
    }

    /// The next action for `outcome`; `random` draws in `0..<1` (injected for tests).
    public mutating func next(after outcome: CheckInOutcome, random: () -> Double) -> Action {
        switch outcome {
        case .unchanged(let next), .applied(_, let next):
            self.consecutiveFailures = 0
            return .wait(.seconds(max(1, next)))
        case .partiallyApplied(_, let next):
            // Something failed to install: try again sooner than the interval, with jitter.
            self.consecutiveFailures += 1
            return .wait(min(.seconds(max(1, next)), self.backoff(random: random) + .seconds(5)))
        case .retryAfter(let seconds):
            self.consecutiveFailures += 1
            // Never earlier than asked; spread the herd over up to twice the wait.
            let asked = Double(max(1, seconds))
            return .wait(.milliseconds(Int64((asked + asked * random()) * 1000)))
        case .refused(let reason, let message):
            return .stop(reason: "\(reason): \(message)")
        case .failed:
            self.consecutiveFailures += 1
            return .wait(self.backoff(random: random))
        }
    }

    /// Full jitter: uniform in `0 ... min(cap, base × 2^(failures-1))`.
    func backoff(random: () -> Double) -> Duration {
        let exponent = min(self.consecutiveFailures - 1, 30)
        let base = Double(self.baseDelay.components.seconds) + Double(self.baseDelay.components.attoseconds) / 1e18
        let cap = Double(self.maximumDelay.components.seconds)
        let ceiling = min(cap, base * Double(1 << max(0, exponent)))
        return .milliseconds(Int64(ceiling * random() * 1000))
    }
}
