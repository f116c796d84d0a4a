import Foundation
import PrintplaneCore

/// The rules both stores apply to held jobs, in one place so SQLite and PostgreSQL cannot
/// drift apart.
enum HeldJobRules {
    /// The key users are matched on: case-insensitive, as AD account names are.
    static func userKey(_ user: String) -> String { user.lowercased() }

    /// The expiry the server keeps: what the agent asked, but no later than `maximumHold`
    /// after the hold and after the registration arrived (a workstation clock far in the past
    /// cannot stretch it).
    static func expiry(of job: HeldJobRegistration, receivedAt: Date, maximumHold: TimeInterval) -> Date {
        min(job.expiresAt, job.heldAt.addingTimeInterval(maximumHold), receivedAt.addingTimeInterval(maximumHold))
    }

    /// The state a new registration starts in: the outcome of a record already stored for the
    /// job, else expired if its time has passed, else held.
    static func initialState(outcome: JobRecord.Outcome?, expiresAt: Date, receivedAt: Date) -> HeldJobState {
        if let outcome { return HeldJobState(outcome: outcome) }
        return expiresAt <= receivedAt ? .expired : .held
    }

    /// The states whose jobs an agent still has to act on, as SQL (the same text for both stores).
    static let pendingCondition = "(state = 'released' OR (state = 'cancelled' AND NOT settled))"

    /// A release from its parts, as stored.
    static func release(job: HeldJobRegistration, printerJSON: String?, releasedAt: Date?, releasedBy: String?) -> HeldJobRelease? {
        guard let printerJSON, let releasedAt,
              let printer = try? WireCoding.makeDecoder().decode(PlannedPrinter.self, from: Data(printerJSON.utf8))
        else { return nil }
        return HeldJobRelease(job: job, printer: printer, releasedAt: releasedAt, releasedBy: releasedBy ?? "")
    }

    /// The release printer as stored: its canonical JSON.
    static func printerJSON(_ printer: PlannedPrinter) throws -> String {
        String(decoding: try WireCoding.makeEncoder().encode(printer), as: UTF8.self)
    }
}
