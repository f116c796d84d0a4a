import Foundation

/// A job kept in a workstation's spool for pull printing, as the agent registers it with the
/// server (`POST /api/v1/agent/held-jobs`).
///
/// Metadata only: the document stays in the workstation's spool until the user releases the
/// job at a printer, and then goes from the workstation straight to that printer (DESIGN.md
/// §3, "Pull printing"). The job ID is the agent's, so a registration repeated after a lost
/// acknowledgement is recognised and stored once, and the job's final ``JobRecord`` (printed,
/// failed, cancelled or expired) later carries the same ID.
public struct HeldJobRegistration: Codable, Sendable, Hashable {
    public var jobID: JobID
    public var user: String
    public var computer: String
    /// The printer the user printed to; the job may be released at another one.
    public var printer: String
    public var documentName: String
    public var pages: Int
    public var copies: Int
    public var color: Bool
    public var duplex: Bool
    public var bytes: Int64
    /// How the printer it was printed to is reached (what a cancelled or expired job's record says).
    public var `protocol`: PrinterProtocol
    public var heldAt: Date
    /// When the workstation deletes the document; the server may shorten it (`--held-job-ttl`).
    public var expiresAt: Date

    public init(
        jobID: JobID, user: String, computer: String, printer: String, documentName: String, pages: Int, copies: Int, color: Bool,
        duplex: Bool, bytes: Int64, protocol: PrinterProtocol, heldAt: Date, expiresAt: Date
    ) {
        self.jobID = jobID
        self.user = user
        self.computer = computer
        self.printer = printer
        self.documentName = documentName
        self.pages = pages
        self.copies = copies
        self.color = color
        self.duplex = duplex
        self.bytes = bytes
        self.protocol = `protocol`
        self.heldAt = heldAt
        self.expiresAt = expiresAt
    }

    /// The registration of a job the agent held instead of sending (`record` as `print` built it).
    public init(record: JobRecord, heldAt: Date, expiresAt: Date) {
        self.init(
            jobID: record.jobID, user: record.user, computer: record.computer, printer: record.printer, documentName: record.documentName,
            pages: record.pages, copies: record.copies, color: record.color, duplex: record.duplex, bytes: record.bytes,
            protocol: record.protocol, heldAt: heldAt, expiresAt: expiresAt)
    }

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case user, computer, printer
        case documentName = "document_name"
        case pages, copies, color, duplex, bytes
        case `protocol`
        case heldAt = "held_at"
        case expiresAt = "expires_at"
    }

    /// The job's final record when it ends without being released (cancelled, expired) or when
    /// its release could not be printed (failed, with `failure` saying why).
    public func record(outcome: JobRecord.Outcome, completedAt: Date, failure: String? = nil) -> JobRecord {
        JobRecord(
            jobID: self.jobID, user: self.user, computer: self.computer, printer: self.printer, documentName: self.documentName,
            pages: self.pages, copies: self.copies, color: self.color, duplex: self.duplex, bytes: self.bytes, protocol: self.protocol,
            submittedAt: self.heldAt, completedAt: max(self.heldAt, completedAt), outcome: outcome, failure: failure)
    }

    /// Problems with the values, empty when the registration may be stored: the bounds of
    /// ``JobRecord/validationProblems``, and an expiry after the hold.
    public var validationProblems: [String] {
        var problems = self.record(outcome: .printed, completedAt: self.heldAt).validationProblems
        if self.expiresAt <= self.heldAt { problems.append("expires_at must be after held_at") }
        return problems
    }
}

/// `POST /api/v1/agent/held-jobs`: registrations from the agent's outbox.
public struct HeldJobBatch: Codable, Sendable, Hashable {
    public var jobs: [HeldJobRegistration]

    public init(jobs: [HeldJobRegistration]) {
        self.jobs = jobs
    }
}

/// The acknowledgement of a registration batch, sent only after the batch is committed.
public struct HeldJobBatchResponse: Codable, Sendable, Hashable {
    /// Newly registered job IDs.
    public var accepted: [JobID]
    /// Job IDs already registered: a no-op, and still an acknowledgement.
    public var duplicates: [JobID]
    /// Registrations refused; the agent drops them rather than retry forever.
    public var rejected: [JobBatchResponse.Rejection]
    /// The expiry the server keeps for each acknowledged job ID, which may be earlier than the
    /// agent asked (the server caps it); the agent deletes the document by then.
    public var expiresAt: [String: Date]

    public init(accepted: [JobID], duplicates: [JobID], rejected: [JobBatchResponse.Rejection], expiresAt: [String: Date]) {
        self.accepted = accepted
        self.duplicates = duplicates
        self.rejected = rejected
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case accepted, duplicates, rejected
        case expiresAt = "expires_at"
    }
}
