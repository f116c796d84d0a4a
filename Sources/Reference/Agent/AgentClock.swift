import Foundation

/// Time as the agent sees it: wall-clock for records, and sleeping for schedules.
/// The daemon uses the system clock; tests and the simulator inject their own.
public protocol AgentClock: Sendable {
    /// Wall-clock time, for job timestamps and status.
    func now() -> Date
    /// Waits; throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// The real clock.
public struct SystemAgentClock: AgentClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}
