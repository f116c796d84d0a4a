import Foundation
import NIOCore
import PrintProtocols
import PrintplaneCore

/// The durable queue of job metadata waiting for the cloud (DESIGN.md §1, principle 3).
/// A record is written before the print is reported done, and deleted only after the
/// server acknowledged it; records the server refused as invalid are parked, not lost.
public protocol OutboxStorage: Sendable {
    /// Stores a record durably (a repeated job ID replaces nothing and is not an error).
    func append(_ record: JobRecord) async throws
    /// The oldest pending records, at most `limit`.
    func pending(limit: Int) async throws -> [JobRecord]
    /// Deletes records the server committed (accepted or already had).
    func acknowledge(_ ids: [JobID]) async throws
    /// Parks records the server refused as invalid, with its reason; they are kept for
    /// inspection and never re-sent.
    func park(_ rejections: [(JobID, String)]) async throws
    /// Pending records (parked ones not counted).
    func depth() async throws -> Int
    /// Parked records.
    func parkedCount() async throws -> Int
}

/// A job kept in the workstation's spool for pull printing (`--hold`): the metadata
/// here, the document bytes in the spool.
public struct HeldJob: Codable, Sendable, Hashable {
    public var record: JobRecord
    public var printerName: String
    public var language: DocumentLanguage
    public var heldAt: Date
    public var expiresAt: Date

    public init(record: JobRecord, printerName: String, language: DocumentLanguage, heldAt: Date, expiresAt: Date) {
        self.record = record
        self.printerName = printerName
        self.language = language
        self.heldAt = heldAt
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case record, language
        case printerName = "printer_name"
        case heldAt = "held_at"
        case expiresAt = "expires_at"
    }

    /// What the server is told about the job: metadata only.
    public var registration: HeldJobRegistration {
        HeldJobRegistration(record: self.record, heldAt: self.heldAt, expiresAt: self.expiresAt)
    }

    /// The job's final record when it ends without being printed (cancelled, expired, or a
    /// release that could not be printed).
    public func record(outcome: JobRecord.Outcome, at now: Date, failure: String? = nil) -> JobRecord {
        var record = self.record
        record.outcome = outcome
        record.completedAt = max(record.submittedAt, now)
        record.failure = failure
        return record
    }
}

/// A held job's document, if the spool still has it.
public struct HeldDocument: Sendable {
    public var job: HeldJob
    /// The bytes as printed; nil when the file has gone (the job cannot be printed).
    public var bytes: ByteBuffer?
}

/// The local spool of held jobs, and the registrations owed to the server (DESIGN.md §3,
/// "Pull printing"): like the outbox, durable and idempotent, so a held job reaches the server
/// across restarts and outages, and only its metadata ever does.
public protocol JobSpool: Sendable {
    /// Keeps the document and its metadata until release, cancellation or expiry, and queues
    /// the job's registration for the server, in one transaction.
    func hold(_ job: HeldJob, document: ByteBuffer) async throws
    /// Every held job, oldest first.
    func heldJobs() async throws -> [HeldJob]
    /// A held job and its document, left in the spool; nil when the job is not held.
    func document(_ id: JobID) async throws -> HeldDocument?
    /// Ends a held job: its final record goes into the outbox and the job leaves the spool, in
    /// one transaction (a crash leaves both or neither); then its document is deleted.
    func finish(_ id: JobID, record: JobRecord) async throws
    /// Registrations the server has not acknowledged, oldest first.
    func pendingRegistrations(limit: Int) async throws -> [HeldJobRegistration]
    /// How many registrations the server has not acknowledged.
    func pendingRegistrationCount() async throws -> Int
    /// Forgets acknowledged (or refused) registrations, and shortens held jobs' expiries to
    /// the ones the server keeps.
    func acknowledgeRegistrations(_ ids: [JobID], expiries: [JobID: Date]) async throws
}
