/// An arrival rate, always held per second (files may say `20/s`, `300/m` or `1000/h`).
public struct Rate: Sendable, Equatable, Hashable, Comparable, Codable {
    public var perSecond: Double

    public init(perSecond: Double) {
        self.perSecond = perSecond
    }

    public static let zero = Rate(perSecond: 0)

    public static func < (lhs: Rate, rhs: Rate) -> Bool { lhs.perSecond < rhs.perSecond }
}

/// A rate that is either constant over a phase or ramps linearly from one value to another
/// (k6's ramping-arrival-rate, Gatling's rampUsersPerSec).
public enum RateSpec: Sendable, Equatable {
    case constant(Rate)
    case ramp(from: Rate, to: Rate)

    /// The rate at the phase start.
    public var initial: Rate {
        switch self {
        case .constant(let rate): rate
        case .ramp(let from, _): from
        }
    }

    /// The rate at the phase end.
    public var final: Rate {
        switch self {
        case .constant(let rate): rate
        case .ramp(_, let to): to
        }
    }

    /// The expected number of arrivals over `duration`: the integral of the rate.
    public func expectedArrivals(over duration: Duration) -> Double {
        (self.initial.perSecond + self.final.perSecond) / 2 * duration.seconds
    }
}

extension Duration {
    /// The duration as floating-point seconds, the unit arrival arithmetic works in.
    public var seconds: Double {
        let parts = self.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
