import NIOCore
import PrintplaneCore

/// One job on its way to a printer: the PJL-wrapped payload and who sent it.
public struct PrintSubmission: Sendable {
    public var printer: PlannedPrinter
    public var jobID: JobID
    public var user: String
    public var host: String
    public var documentName: String
    /// The document with the profile's PJL header around it.
    public var payload: ByteBuffer
    /// Copies the printer should make (LPR repeats the print line; RAW says it in PJL).
    public var copies: Int

    public init(printer: PlannedPrinter, jobID: JobID, user: String, host: String, documentName: String, payload: ByteBuffer, copies: Int) {
        self.printer = printer
        self.jobID = jobID
        self.user = user
        self.host = host
        self.documentName = documentName
        self.payload = payload
        self.copies = copies
    }
}

/// How a job reaches the printer. Both the daemon and the simulator print over real
/// TCP (DESIGN.md §5); the protocol is here so tests can also observe submissions.
public protocol PrinterTransport: Sendable {
    /// Delivers the job, or throws a `PrintClientError` saying why not.
    func send(_ submission: PrintSubmission) async throws
}
