import NIOCore
import NIOPosix
import PrintProtocols
import PrintplaneCore

/// Prints straight to the printer's IP (DESIGN.md §5):
/// - RAW 9100: send the stream, half-close, read the back channel until the printer
///   closes. When the printer reports PJL job status, the job counts as printed only if
///   it said `END`: a printer that dropped the job mid-way never does.
/// - LPR 515: RFC 1179 with the control file's H, P, J and N lines and one data-file
///   line per copy, each step acknowledged.
public struct NIOPrinterTransport: PrinterTransport {
    public var timeout: Duration
    public var eventLoopGroup: any EventLoopGroup

    public init(timeout: Duration = .seconds(60), eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.timeout = timeout
        self.eventLoopGroup = eventLoopGroup
    }

    public func send(_ submission: PrintSubmission) async throws {
        let printer = submission.printer
        switch printer.protocol {
        case .raw:
            let backChannel = try await PrintClient.sendRaw(
                host: printer.address, port: printer.port, document: submission.payload, timeout: self.timeout, eventLoopGroup: self.eventLoopGroup)
            let text = String(buffer: backChannel)
            if text.contains("USTATUS JOB"), !text.contains("\r\nEND\r\n") {
                throw PrintClientError.connectionLost("the printer never reported the end of the job")
            }
        case .lpr:
            let number = Self.jobNumber(for: submission.jobID)
            let host = LPDNames.host(submission.host)
            let dataFile = "dfA\(number)\(host)"
            var control = LPDControlFile()
            control.host = host
            control.user = LPDNames.field(submission.user, limit: 31)
            control.jobName = LPDNames.field(submission.jobID.rawValue, limit: 99)
            control.sourceFileName = LPDNames.title(submission.documentName, limit: 131)
            control.printLines = Array(repeating: .init(format: "l", dataFile: dataFile), count: max(1, submission.copies))
            control.unlink = [dataFile]
            try await PrintClient.submitLPD(
                host: printer.address, port: printer.port, queue: printer.queue ?? "lp", control: control,
                controlFileName: "cfA\(number)\(host)", dataFiles: [.init(name: dataFile, contents: submission.payload)],
                timeout: self.timeout, eventLoopGroup: self.eventLoopGroup)
        }
    }

    /// RFC 1179's three-digit job number, derived from the job ID so retries reuse it.
    static func jobNumber(for id: JobID) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in id.rawValue.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let number = Int(hash % 1000)
        return String(repeating: "0", count: number < 10 ? 2 : number < 100 ? 1 : 0) + String(number)
    }
}

/// RFC 1179 field hygiene: printable ASCII without spaces in names, bounded lengths.
enum LPDNames {
    static func field(_ text: String, limit: Int) -> String {
        let cleaned = String(text.unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7F }.map(Character.init))
        return String((cleaned.isEmpty ? "unknown" : cleaned).prefix(limit))
    }

    /// A title may hold spaces, but no control characters (they would end the line).
    static func title(_ text: String, limit: Int) -> String {
        let cleaned = String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.map(Character.init))
        return String((cleaned.isEmpty ? "untitled" : cleaned).prefix(limit))
    }

    static func host(_ text: String) -> String {
        field(String(text.split(separator: ".").first ?? "localhost"), limit: 31)
    }
}
