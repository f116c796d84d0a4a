/// How one check-in ended; ``CheckInStateMachine`` turns it into the next wait.
public enum CheckInOutcome: Sendable, Equatable {
    /// The plan was unchanged (the cheap answer).
    case unchanged(next: Int)
    /// A new plan was applied completely.
    case applied(PlanChanges, next: Int)
    /// A new plan was applied except for some printers (their drivers failed).
    case partiallyApplied(PlanChanges, next: Int)
    /// 503 or 429 with `Retry-After`.
    case retryAfter(Int)
    /// The credential was refused (401/403): stop, do not hammer the server.
    case refused(reason: String, message: String)
    /// The server could not be reached, or answered with an error.
    case failed(String)

    /// A short word for status and logs.
    public var summary: String {
        switch self {
        case .unchanged: "unchanged"
        case .applied(let changes, _): "applied (\(changes.summary))"
        case .partiallyApplied(let changes, _): "partially applied (\(changes.summary))"
        case .retryAfter(let seconds): "retry after \(seconds)s"
        case .refused(let reason, _): "refused: \(reason)"
        case .failed(let detail): "failed: \(detail)"
        }
    }
}

/// What applying a plan changed.
public struct PlanChanges: Sendable, Equatable {
    public var installed: [String] = []
    public var updated: [String] = []
    public var removed: [String] = []
    /// Printer name → why it could not be installed.
    public var failed: [String: String] = [:]
    /// Driver bytes downloaded while applying.
    public var driverBytes: Int64 = 0

    public init() {}

    public var summary: String {
        var parts = [String]()
        if !installed.isEmpty { parts.append("installed \(installed.count)") }
        if !updated.isEmpty { parts.append("updated \(updated.count)") }
        if !removed.isEmpty { parts.append("removed \(removed.count)") }
        if !failed.isEmpty { parts.append("failed \(failed.count)") }
        return parts.isEmpty ? "no changes" : parts.joined(separator: ", ")
    }
}
