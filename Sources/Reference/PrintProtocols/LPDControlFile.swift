/// An RFC 1179 control file: the job's metadata and which data files to print how.
///
/// RFC 1179 §7: one command per line, the first character naming it, the rest its
/// operand, each line ended by LF. We keep the lines a printer acts on and ignore the rest,
/// as the RFC asks of unknown commands.
/// ```
/// C class   H host   J job name   L banner user   N source file name   P user
/// T title   U unlink file   M mail to   I indent   W width   1-4 fonts
/// c d f g l n o p r t v  file name   (print with this filter; one line per copy)
/// ```
public struct LPDControlFile: Sendable, Hashable, Codable {
    /// One print line: the filter letter and the data file it names.
    public struct PrintLine: Sendable, Hashable, Codable {
        /// `f` formatted text, `l` raw (leave control characters), `o` PostScript, `p` pr, …
        public var format: Character
        public var dataFile: String

        public init(format: Character, dataFile: String) {
            self.format = format
            self.dataFile = dataFile
        }

        enum CodingKeys: String, CodingKey { case format, dataFile = "data_file" }
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let format = try container.decode(String.self, forKey: .format)
            guard let first = format.first, format.count == 1 else {
                throw DecodingError.dataCorruptedError(forKey: .format, in: container, debugDescription: "one letter expected")
            }
            self.format = first
            self.dataFile = try container.decode(String.self, forKey: .dataFile)
        }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(String(format), forKey: .format)
            try container.encode(dataFile, forKey: .dataFile)
        }
    }

    /// The print-file letters RFC 1179 §7.3–7.25 defines.
    public static let printFormats: Set<Character> = ["c", "d", "f", "g", "l", "n", "o", "p", "r", "t", "v"]

    public var host: String?
    public var user: String?
    public var jobName: String?
    public var sourceFileName: String?
    public var `class`: String?
    public var bannerUser: String?
    public var title: String?
    public var mailTo: String?
    public var unlink: [String] = []
    public var printLines: [PrintLine] = []

    public init() {}

    /// Data files in the order they are first named.
    public var dataFiles: [String] {
        var seen = Set<String>()
        return printLines.map(\.dataFile).filter { seen.insert($0).inserted }
    }

    /// Copies of `dataFile`: RFC 1179 clients repeat the print line once per copy.
    public func copies(of dataFile: String) -> Int {
        printLines.filter { $0.dataFile == dataFile }.count
    }

    /// Parses the control file's bytes (without the NUL that ends its transfer).
    public init(parsing bytes: some Collection<UInt8>) throws(LPDProtocolError) {
        guard let text = String(validating: Array(bytes), as: UTF8.self) else {
            throw .invalidControlFile("not UTF-8 text")
        }
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            guard let command = line.first else { continue }
            guard !line.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) else {
                throw .invalidControlFile("control characters in a line")
            }
            let operand = String(line.dropFirst())
            switch command {
            case "H": host = operand
            case "P": user = operand
            case "J": jobName = operand
            case "N": sourceFileName = operand
            case "C": self.class = operand
            case "L": bannerUser = operand
            case "T": title = operand
            case "M": mailTo = operand
            case "U": unlink.append(operand)
            case _ where Self.printFormats.contains(command):
                guard !operand.isEmpty else { throw .invalidControlFile("print line '\(command)' names no file") }
                guard !operand.contains("/") else { throw .invalidControlFile("data file name contains '/'") }
                printLines.append(PrintLine(format: command, dataFile: operand))
            default:
                continue  // RFC 1179 §7: unknown lines are ignored
            }
        }
        guard !printLines.isEmpty else { throw .invalidControlFile("no print lines") }
    }

    /// Serialises the control file, for the client half.
    public var encoded: String {
        var lines: [String] = []
        if let host { lines.append("H" + host) }
        if let user { lines.append("P" + user) }
        if let jobName { lines.append("J" + jobName) }
        if let `class` { lines.append("C" + `class`) }
        if let bannerUser { lines.append("L" + bannerUser) }
        if let title { lines.append("T" + title) }
        if let mailTo { lines.append("M" + mailTo) }
        for line in printLines { lines.append(String(line.format) + line.dataFile) }
        for file in unlink { lines.append("U" + file) }
        if let sourceFileName { lines.append("N" + sourceFileName) }
        return lines.map { $0 + "\n" }.joined()
    }
}
