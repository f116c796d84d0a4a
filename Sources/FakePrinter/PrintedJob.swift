import Foundation
import PrintProtocols

/// Everything a fake printer remembers about one job. Stored as JSON beside the job's bytes.
public struct PrintedJob: Sendable, Hashable, Codable {
    /// How the job arrived.
    public enum Transport: String, Sendable, Codable, Hashable {
        case raw, lpd
    }

    /// What happened to the job.
    public enum State: String, Sendable, Codable, Hashable {
        /// Printed: its impressions are on the life page counter.
        case printed
        /// Received but waiting (paper out); printed when the fault clears.
        case held
        /// The connection was cut (drop fault, or the client vanished) before the job was complete.
        case dropped
        /// The printer refused the job (jam).
        case refused
        /// Removed from the queue by an LPD remove-jobs request before it printed.
        case removed
    }

    /// One document of the job: a RAW job has one; an LPD job has one per data file.
    public struct Document: Sendable, Hashable, Codable {
        /// The LPD data file name (`dfA001host`), or `raw` for AppSocket.
        public var name: String
        /// The LPD print-line letter (`l`, `o`, `f`…); nil for RAW.
        public var format: String?
        public var bytes: UInt64
        public var language: DocumentLanguage
        /// Pages in one copy; nil when the data could not be counted.
        public var pages: Int?
        /// Copies: LPD print lines naming this file × copies the document itself asks for.
        public var copies: Int
        /// File name of the stored bytes inside the printer's job directory; nil when bytes are not kept.
        public var storedAs: String?

        enum CodingKeys: String, CodingKey {
            case name, format, bytes, language, pages, copies, storedAs = "stored_as"
        }
    }

    public var id: Int
    public var printer: String
    public var transport: Transport
    public var state: State
    /// The client's address and port.
    public var peer: String
    public var queue: String?
    /// LPD `P` line, or PJL `@PJL SET USERNAME` / `JOB ... USER`.
    public var user: String?
    /// LPD `H` line.
    public var host: String?
    /// LPD `J` line, or PJL `@PJL JOB NAME`.
    public var jobName: String?
    /// LPD `N` line (the source file name).
    public var documentName: String?
    /// LPD `C` and `L` lines.
    public var lpdClass: String?
    public var bannerUser: String?
    /// `@PJL SET` variables seen in the job, upper-cased names (DUPLEX, COPIES, RENDERMODE…).
    public var pjl: [String: String]
    public var documents: [Document]
    public var bytes: UInt64
    /// Pages × copies summed over documents; nil when any document could not be counted.
    public var impressions: Int?
    public var receivedAt: Date
    public var completedAt: Date
    /// Why the job is dropped or refused.
    public var detail: String?

    enum CodingKeys: String, CodingKey {
        case id, printer, transport, state, peer, queue, user, host
        case jobName = "job_name", documentName = "document_name", lpdClass = "class", bannerUser = "banner_user"
        case pjl, documents, bytes, impressions
        case receivedAt = "received_at", completedAt = "completed_at", detail
    }

    /// Pages in one copy, summed over documents; nil when any is unknown.
    public var pages: Int? {
        documents.reduce(Optional(0)) { total, document in
            guard let total, let pages = document.pages else { return nil }
            return total + pages
        }
    }

    /// The total number of copies asked for (the largest over documents).
    public var copies: Int { documents.map(\.copies).max() ?? 1 }
}
