import Foundation

/// A held job as its user sees it (`GET /api/v1/user/held-jobs`).
public struct HeldJobStatus: Codable, Sendable, Hashable {
    public var job: HeldJobRegistration
    public var state: HeldJobState
    /// The printer the job was released to.
    public var releasedTo: String?
    public var releasedAt: Date?
    public var releasedBy: String?
    /// When the job reached a final state.
    public var finishedAt: Date?
    /// Why a failed job failed.
    public var failure: String?

    public init(
        job: HeldJobRegistration, state: HeldJobState, releasedTo: String? = nil, releasedAt: Date? = nil, releasedBy: String? = nil,
        finishedAt: Date? = nil, failure: String? = nil
    ) {
        self.job = job
        self.state = state
        self.releasedTo = releasedTo
        self.releasedAt = releasedAt
        self.releasedBy = releasedBy
        self.finishedAt = finishedAt
        self.failure = failure
    }

    enum CodingKeys: String, CodingKey {
        case job, state, failure
        case releasedTo = "released_to"
        case releasedAt = "released_at"
        case releasedBy = "released_by"
        case finishedAt = "finished_at"
    }
}

/// Held jobs counted by state (`GET /api/v1/admin/reports/held`).
public struct HeldJobTotals: Codable, Sendable, Hashable {
    public var held: Int
    public var released: Int
    public var printed: Int
    public var failed: Int
    public var expired: Int
    public var cancelled: Int

    public init(held: Int = 0, released: Int = 0, printed: Int = 0, failed: Int = 0, expired: Int = 0, cancelled: Int = 0) {
        self.held = held
        self.released = released
        self.printed = printed
        self.failed = failed
        self.expired = expired
        self.cancelled = cancelled
    }

    /// Totals from (state, count) pairs, ignoring states this build does not know.
    public init(counts: [(String, Int)]) {
        self.init()
        for (state, count) in counts {
            switch HeldJobState(rawValue: state) {
            case .held: self.held += count
            case .released: self.released += count
            case .printed: self.printed += count
            case .failed: self.failed += count
            case .expired: self.expired += count
            case .cancelled: self.cancelled += count
            case nil: break
            }
        }
    }
}
