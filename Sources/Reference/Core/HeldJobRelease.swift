import Foundation

/// A release: print this held job on this printer. The printer comes with everything the
/// agent needs to send to it (address, protocol, port, queue, profile), because the user may
/// pick a printer this workstation has never installed.
public struct HeldJobRelease: Codable, Sendable, Hashable {
    public var job: HeldJobRegistration
    /// The chosen printer, with the profile that applies to this user and computer there
    /// (no driver: the agent sends the document as it was spooled, with a PJL header).
    public var printer: PlannedPrinter
    public var releasedAt: Date
    /// Who released it, for logs.
    public var releasedBy: String

    public init(job: HeldJobRegistration, printer: PlannedPrinter, releasedAt: Date, releasedBy: String) {
        self.job = job
        self.printer = printer
        self.releasedAt = releasedAt
        self.releasedBy = releasedBy
    }

    enum CodingKeys: String, CodingKey {
        case job, printer
        case releasedAt = "released_at"
        case releasedBy = "released_by"
    }
}

/// What an agent has to do for its held jobs: print the released ones, delete the cancelled
/// ones. Each stays pending until the agent's record for the job reaches the server, so a lost
/// answer or an agent restart loses nothing. The answer of `GET /api/v1/agent/releases`, and
/// `releases` in a check-in answer when there is any.
public struct PendingReleases: Codable, Sendable, Hashable {
    public var releases: [HeldJobRelease]
    /// Cancelled jobs whose documents the agent should delete.
    public var cancelled: [HeldJobRegistration]

    public init(releases: [HeldJobRelease] = [], cancelled: [HeldJobRegistration] = []) {
        self.releases = releases
        self.cancelled = cancelled
    }

    public var isEmpty: Bool { self.releases.isEmpty && self.cancelled.isEmpty }
}

/// `POST /api/v1/user/held-jobs/{id}/release`: the printer to print on, by ID or by name.
public struct ReleaseRequest: Codable, Sendable, Hashable {
    public var printerID: PrinterID?
    public var printer: String?

    public init(printerID: PrinterID? = nil, printer: String? = nil) {
        self.printerID = printerID
        self.printer = printer
    }

    enum CodingKeys: String, CodingKey {
        case printerID = "printer_id"
        case printer
    }
}
