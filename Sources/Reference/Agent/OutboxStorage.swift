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
}

/// The local spool of held jobs.
public protocol JobSpool: Sendable {
    /// Keeps the document and its metadata until release or expiry.
    func hold(_ job: HeldJob, document: ByteBuffer) async throws
    /// Every held job, oldest first.
    func heldJobs() async throws -> [HeldJob]
    /// Removes a held job and hands back its document (for release or expiry).
    func take(_ id: JobID) async throws -> (HeldJob, ByteBuffer)?
}

