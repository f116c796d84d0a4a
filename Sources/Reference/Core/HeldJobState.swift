import Foundation

/// Where a held job is in its life on the server.
///
/// `held` → `released` (the user chose a printer) → `printed` or `failed` (the agent's record
/// says which); `held` or `released` → `cancelled` (the user) or `expired` (time). The last four
/// are final, and each comes with the job's one ``JobRecord`` once the agent has reported it.
public enum HeldJobState: String, Codable, Sendable, CaseIterable {
    case held
    case released
    case printed
    case failed
    case expired
    case cancelled

    /// Whether nothing more can happen to the job.
    public var isFinal: Bool { self != .held && self != .released }

    /// The state a job's final record puts it in.
    public init(outcome: JobRecord.Outcome) {
        switch outcome {
        case .printed: self = .printed
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        case .expired: self = .expired
        }
    }
}
