import Foundation
import NIOConcurrencyHelpers

/// Check-in admission under storms: counts check-ins per second and decides, per call,
/// whether to answer normally, stretch `next_checkin_seconds`, or refuse with 503.
///
/// The rate is a two-bucket sliding estimate (this second plus the unexpired share of
/// the last), which is cheap, lock-protected and needs no timer.
public final class LoadShedder: Sendable {
    /// What to do with one check-in.
    public enum Decision: Sendable, Equatable {
        /// Serve it; multiply the interval by `stretch` (1 when unloaded).
        case admit(stretch: Double)
        /// Refuse with 503 and this Retry-After.
        case shed(retryAfterSeconds: Int)
    }

    private struct State {
        var second: Int64 = 0
        var current: Double = 0
        var previous: Double = 0
    }

    private let softRate: Double
    private let hardRate: Double
    private let clock: @Sendable () -> Date
    private let state = NIOLockedValueBox(State())

    public init(softRate: Double, hardRate: Double, clock: @escaping @Sendable () -> Date) {
        self.softRate = max(1, softRate)
        self.hardRate = max(softRate, hardRate)
        self.clock = clock
    }

    /// Counts one check-in and decides.
    public func admit() -> Decision {
        let now = self.clock().timeIntervalSince1970
        let rate: Double = self.state.withLockedValue { state in
            let second = Int64(now.rounded(.down))
            if second != state.second {
                state.previous = second == state.second + 1 ? state.current : 0
                state.current = 0
                state.second = second
            }
            state.current += 1
            let elapsed = now - Double(second)
            return state.current + state.previous * (1 - elapsed)
        }
        if rate > self.hardRate {
            return .shed(retryAfterSeconds: Int.random(in: 5...30))
        }
        if rate > self.softRate {
            return .admit(stretch: min(rate / self.softRate, 10))
        }
        return .admit(stretch: 1)
    }
}
