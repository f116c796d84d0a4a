import Foundation
import NIOCore

/// A CUPS server's queues read from its files instead of over IPP: `printers.conf` (the
/// format `cupsd` writes, `cupsd.conf(5)`-style directives inside `<Printer NAME>` sections)
/// and the per-queue PPDs in `ppd/NAME.ppd`. For a server that is gone, or a backup of one.
///
/// ```
/// <Printer Floor2-HP>
/// Info HP colour, floor 2
/// Location Building A, floor 2
/// MakeModel HP Color LaserJet CM3530 MFP PDF
/// DeviceURI socket://10.1.2.30:9100
/// Option sides two-sided-long-edge
/// </Printer>
/// ```
///
/// A queue's job defaults are its `Option` lines, else its PPD's defaults: what `cupsd`
/// itself answers for `sides-default`, `media-default` and `print-color-mode-default`.
public enum CUPSPrintersConf {
    /// A line the reader cannot accept, with its number.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var problem: String
        public var description: String { "printers.conf line \(self.line): \(self.problem)" }
    }

    /// The queues in `text` (a `printers.conf`), with PPDs from `ppdDirectory` when given.
    public static func queues(_ text: String, ppdDirectory: String? = nil) throws(Failure) -> [CUPSQueue] {
        var queues: [CUPSQueue] = []
        var current: CUPSQueue?
        var options: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("<") {
                guard line.hasSuffix(">") else { throw Failure(line: number, problem: "a section tag without its closing '>'") }
                let tag = line.dropFirst().dropLast()
                if tag.hasPrefix("/") {
                    guard var queue = current else { throw Failure(line: number, problem: "\(tag) closes no section") }
                    queue.sides = options["sides"]
                    queue.colorMode = options["print-color-mode"]
                    queue.media = options["media"]
                    queue.copies = options["copies"].flatMap { Int($0) }
                    if let ppdDirectory { try Self.attachPPD(&queue, directory: ppdDirectory, line: number) }
                    queues.append(queue)
                    current = nil
                    options = [:]
                    continue
                }
                guard current == nil else { throw Failure(line: number, problem: "a section inside another (missing </Printer>?)") }
                let parts = tag.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[0] == "Printer" || parts[0] == "DefaultPrinter" else {
                    throw Failure(line: number, problem: "unknown section <\(tag)> (only <Printer NAME> and <DefaultPrinter NAME>)")
                }
                current = CUPSQueue(name: String(parts[1]).trimmingCharacters(in: .whitespaces))
                continue
            }
            guard current != nil else { continue }  // NextPrinterId and other top-level directives
            let parts = line.split(separator: " ", maxSplits: 1)
            let key = String(parts[0])
            let value = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : ""
            switch key {
            case "Info": current?.info = value.isEmpty ? nil : value
            case "Location": current?.location = value.isEmpty ? nil : value
            case "MakeModel": current?.makeAndModel = value.isEmpty ? nil : value
            case "DeviceURI": current?.deviceURI = value.isEmpty ? nil : value
            case "Type": current?.isClass = (Int32(value) ?? 0) & CUPSQueue.classBit != 0
            case "Option":
                let option = value.split(separator: " ", maxSplits: 1)
                if option.count == 2 { options[String(option[0])] = String(option[1]) }
            default: break
            }
        }
        if current != nil { throw Failure(line: text.split(separator: "\n", omittingEmptySubsequences: false).count, problem: "the file ends inside a <Printer> section") }
        return queues
    }

    /// Reads `ppdDirectory/NAME.ppd` into the queue and fills the defaults its options left open.
    private static func attachPPD(_ queue: inout CUPSQueue, directory: String, line: Int) throws(Failure) {
        guard !queue.name.contains("/"), !queue.name.contains("..") else { throw Failure(line: line, problem: "queue name \(queue.name) cannot name a file") }
        let path = (directory as NSString).appendingPathComponent(queue.name + ".ppd")
        guard let data = FileManager.default.contents(atPath: path) else { return }  // a raw or driverless queue
        queue.ppd = ByteBuffer(data: data)
        let summary = PPDSummary(String(decoding: data, as: UTF8.self))
        queue.sides = queue.sides ?? summary.sides
        queue.colorMode = queue.colorMode ?? summary.colorMode
        queue.media = queue.media ?? summary.pageSize
    }
}
