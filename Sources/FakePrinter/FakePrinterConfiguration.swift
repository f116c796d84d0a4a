/// Everything `printplane printer` can be told, with defaults that suit a test bench.
///
/// Tests and the simulator build this directly; the CLI only maps flags onto it.
public struct FakePrinterConfiguration: Sendable {
    /// Address of the first printer. Printer `i` listens on this address plus `i`.
    public var host: String
    /// How many printers to run in this process, each on its own consecutive address.
    public var count: Int
    /// AppSocket/RAW port (9100 on a real printer; 0 picks a free port, for tests).
    public var rawPort: Int
    /// LPD port (515 on a real printer; 0 picks a free port, for tests).
    public var lpdPort: Int
    /// Port of the HTTP/JSON status endpoint on the first address; nil disables it.
    public var httpPort: Int?
    /// Directory that keeps every job's bytes and metadata and the life page counters.
    public var spoolDirectory: String
    /// What `@PJL INFO ID` answers.
    public var model: String
    /// Faults every printer starts with (they can be changed at run time over HTTP).
    public var initialFaults: PrinterFaults
    /// The largest job, in bytes, a printer accepts.
    public var maximumJobBytes: UInt64
    /// A connection that sends nothing for this long is closed.
    public var idleTimeout: Duration
    /// When false, only metadata is kept (for long load runs); pages are still counted.
    public var keepDocumentBytes: Bool

    public init(
        host: String = "127.0.0.1",
        count: Int = 1,
        rawPort: Int = 9100,
        lpdPort: Int = 515,
        httpPort: Int? = 9180,
        spoolDirectory: String,
        model: String = "Printplane FakePrinter",
        initialFaults: PrinterFaults = PrinterFaults(),
        maximumJobBytes: UInt64 = 4 << 30,
        idleTimeout: Duration = .seconds(300),
        keepDocumentBytes: Bool = true
    ) {
        self.host = host
        self.count = count
        self.rawPort = rawPort
        self.lpdPort = lpdPort
        self.httpPort = httpPort
        self.spoolDirectory = spoolDirectory
        self.model = model
        self.initialFaults = initialFaults
        self.maximumJobBytes = maximumJobBytes
        self.idleTimeout = idleTimeout
        self.keepDocumentBytes = keepDocumentBytes
    }

    /// The addresses of all printers: `host`, `host + 1`, … as dotted IPv4.
    public func printerAddresses() throws(FakePrinterError) -> [String] {
        guard count >= 1, count <= 65_536 else { throw .invalidConfiguration("--count must be between 1 and 65536, got \(count)") }
        guard let first = IPv4.parse(host) else {
            throw .invalidConfiguration("--listen must be a dotted IPv4 address such as 127.0.0.1, got '\(host)'")
        }
        guard UInt64(first) + UInt64(count) - 1 <= UInt64(UInt32.max) else {
            throw .invalidConfiguration("\(count) printers starting at \(host) run past 255.255.255.255")
        }
        let last = first + UInt32(count - 1)
        if IPv4.isLoopback(first), !IPv4.isLoopback(last) {
            throw .invalidConfiguration("\(count) printers starting at \(host) leave 127.0.0.0/8 (last would be \(IPv4.format(last)))")
        }
        return (0..<UInt32(count)).map { IPv4.format(first + $0) }
    }
}

/// Dotted-quad IPv4 arithmetic for consecutive printer addresses.
enum IPv4 {
    static func parse(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCIIDigitCharacter), let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    static func format(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    static func isLoopback(_ value: UInt32) -> Bool { value >> 24 == 127 }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}
