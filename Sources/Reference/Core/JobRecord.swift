import Foundation

/// The metadata of one print job, as the agent uploads it from its outbox.
///
/// The job ID is chosen by the agent, so an upload repeated after a lost
/// acknowledgement is recognised and stored once (DESIGN.md §1, "nothing is lost").
public struct JobRecord: Codable, Sendable, Hashable {
    /// How a job ended.
    public enum Outcome: String, Codable, Sendable, CaseIterable {
        case printed
        case failed
        case cancelled
        case expired
    }

    public var jobID: JobID
    public var user: String
    public var computer: String
    public var printer: String
    public var documentName: String
    public var pages: Int
    public var copies: Int
    public var color: Bool
    public var duplex: Bool
    public var bytes: Int64
    public var `protocol`: PrinterProtocol
    public var submittedAt: Date
    public var completedAt: Date
    public var outcome: Outcome
    /// Why a held job's release could not be printed (`failed` outcomes of pull printing);
    /// the server keeps it with the held job. Absent otherwise.
    public var failure: String?

    public init(jobID: JobID, user: String, computer: String, printer: String, documentName: String, pages: Int, copies: Int, color: Bool, duplex: Bool, bytes: Int64, protocol: PrinterProtocol, submittedAt: Date, completedAt: Date, outcome: Outcome, failure: String? = nil) {
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
        self.submittedAt = submittedAt
        self.completedAt = completedAt
        self.outcome = outcome
        self.failure = failure
    }

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case user, computer, printer
        case documentName = "document_name"
        case pages, copies, color, duplex, bytes
        case `protocol`
        case submittedAt = "submitted_at"
        case completedAt = "completed_at"
        case outcome, failure
    }

    /// Problems with the values, empty when the record may be stored.
    public var validationProblems: [String] {
        var problems = [String]()
        if jobID.rawValue.isEmpty || jobID.rawValue.utf8.count > 128 { problems.append("job_id must be 1 to 128 characters") }
        for (field, value, allowEmpty) in [("user", user, false), ("computer", computer, false), ("printer", printer, false), ("document_name", documentName, true)] {
            if (!allowEmpty && value.isEmpty) || value.utf8.count > 512 {
                problems.append("\(field) must be \(allowEmpty ? 0 : 1) to 512 bytes")
            }
        }
        if !(0...1_000_000).contains(pages) { problems.append("pages must be between 0 and 1000000") }
        if !(1...999).contains(copies) { problems.append("copies must be between 1 and 999") }
        if bytes < 0 { problems.append("bytes must not be negative") }
        if completedAt < submittedAt { problems.append("completed_at must not be before submitted_at") }
        if let failure, failure.utf8.count > 512 { problems.append("failure must be at most 512 bytes") }
        return problems
    }
}

/// `POST /api/v1/agent/jobs`: a batch of job records from the agent's outbox.
public struct JobBatch: Codable, Sendable, Hashable {
    public var jobs: [JobRecord]

    public init(jobs: [JobRecord]) {
        self.jobs = jobs
    }
}

/// The acknowledgement of a batch, sent only after the batch is committed.
public struct JobBatchResponse: Codable, Sendable, Hashable {
    /// One record the server refused, by its position in the batch.
    public struct Rejection: Codable, Sendable, Hashable {
        public var index: Int
        public var jobID: JobID?
        public var reason: String
        public var message: String

        public init(index: Int, jobID: JobID?, reason: String, message: String) {
            self.index = index
            self.jobID = jobID
            self.reason = reason
            self.message = message
        }

        enum CodingKeys: String, CodingKey {
            case index, reason, message
            case jobID = "job_id"
        }
    }

    /// Newly stored job IDs.
    public var accepted: [JobID]
    /// Job IDs that were already stored: a no-op, and still an acknowledgement.
    public var duplicates: [JobID]
    /// Records refused; the agent should drop them rather than retry forever.
    public var rejected: [Rejection]

    public init(accepted: [JobID], duplicates: [JobID], rejected: [Rejection]) {
        self.accepted = accepted
        self.duplicates = duplicates
        self.rejected = rejected
    }
}

/// The JSON coding every Printplane peer uses: ISO 8601 dates, sorted keys.
public enum WireCoding {
    /// An encoder for agent and admin API bodies.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A decoder for agent and admin API bodies.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
