import Crypto
import Foundation
import NIOCore
import PrintplaneCore

/// What importing a print server's queues would create, worked out before anything is
/// written: a pure function of the queues, so it can be shown (`--dry-run`) and tested.
///
/// A queue becomes a printer only if the agent can print to its device directly: RAW
/// (`socket://host[:port]`, 9100 by default) or LPD (`lpd://host[:port]/queue`, 515).
/// Anything else is skipped with the reason, never guessed: an IPP, USB or file device
/// does not say where a RAW or LPD port would be.
public struct ImportPlan: Sendable, Hashable {
    /// A printer to create, with the profile and driver its queue implies.
    public struct Printer: Sendable, Hashable {
        /// The CUPS queue it comes from.
        public var queue: String
        /// The Printplane name: the queue name, with characters Printplane does not allow
        /// replaced by `-`.
        public var name: String
        public var address: String
        public var `protocol`: PrinterProtocol
        public var port: Int
        /// The LPD queue, for `lpr` printers.
        public var lprQueue: String?
        public var location: String?
        public var site: String?
        /// The queue's job defaults as a profile.
        public var profile: PrintProfile
        /// The SHA-256 of the queue's PPD, when it has one (an entry of ``drivers``).
        public var driverSHA256: String?
        /// What the reader should know: a rename, a default that had no equivalent.
        public var notes: [String]
    }

    /// A PPD to upload as a driver package. Queues with identical PPDs share one.
    public struct Driver: Sendable, Hashable {
        public var name: String
        /// The PPD's `*FileVersion` and the first 8 hex digits of its SHA-256: CUPS keeps a
        /// copy of the PPD per queue, with the queue's defaults written into it, so two queues
        /// of one model can have different PPDs of one version.
        public var version: String
        public var os: String
        public var sha256: String
        public var contents: ByteBuffer
    }

    /// A queue that is not imported, and why.
    public struct Skipped: Sendable, Hashable {
        public var queue: String
        public var reason: String
    }

    public var printers: [Printer]
    public var drivers: [Driver]
    public var skipped: [Skipped]

    /// The OS string drivers imported from CUPS carry.
    public static let driverOS = "cups-ppd"

    /// Plans the import of `queues`, giving every printer `site` when set.
    public static func make(from queues: [CUPSQueue], site: String?) -> ImportPlan {
        var plan = ImportPlan(printers: [], drivers: [], skipped: [])
        var usedNames = Set<String>()
        for queue in queues.sorted(by: { $0.name < $1.name }) {
            if queue.isClass {
                plan.skipped.append(Skipped(queue: queue.name, reason: "a class (a pool of queues), not a printer"))
                continue
            }
            guard let uri = queue.deviceURI else {
                plan.skipped.append(Skipped(queue: queue.name, reason: "no device URI (the server did not say where it prints)"))
                continue
            }
            let device: Device
            switch Device.parse(uri) {
            case .success(let parsed): device = parsed
            case .failure(let why):
                plan.skipped.append(Skipped(queue: queue.name, reason: why.message))
                continue
            }
            var notes: [String] = []
            var name = Self.printplaneName(queue.name)
            if usedNames.contains(name.lowercased()) {
                var suffix = 2
                while usedNames.contains("\(name)-\(suffix)".lowercased()) { suffix += 1 }
                name = "\(name)-\(suffix)"
            }
            usedNames.insert(name.lowercased())
            if name != queue.name { notes.append("named \(name) (\(queue.name) has characters Printplane does not allow in a name)") }

            let (profile, profileNotes) = Self.profile(for: queue)
            notes += profileNotes
            var driverSHA256: String?
            if let ppd = queue.ppd, ppd.readableBytes > 0 {
                let digest = SHA256.hash(data: ppd.readableBytesView).map { String(format: "%02x", $0) }.joined()
                driverSHA256 = digest
                if !plan.drivers.contains(where: { $0.sha256 == digest }) {
                    plan.drivers.append(Self.driver(ppd: ppd, sha256: digest, queue: queue))
                }
            }
            plan.printers.append(Printer(
                queue: queue.name, name: name, address: device.host, protocol: device.protocol, port: device.port,
                lprQueue: device.queue, location: queue.location.map { String($0.prefix(256)) }, site: site,
                profile: profile, driverSHA256: driverSHA256, notes: notes))
        }
        return plan
    }

    // MARK: Devices

    /// Where a queue's jobs go, when the agent can send them there itself.
    struct Device: Hashable {
        var `protocol`: PrinterProtocol
        var host: String
        var port: Int
        var queue: String?

        struct Refusal: Error {
            var message: String
        }

        /// Reads `socket://` and `lpd://` device URIs, unwrapping CUPS' `beh` backend wrapper
        /// (`beh:/1/3/5/socket://…`).
        static func parse(_ uri: String) -> Result<Device, Refusal> {
            var uri = uri
            if uri.hasPrefix("beh:/") {
                let parts = uri.dropFirst("beh:/".count).split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count == 4 else { return .failure(Refusal(message: "a beh device URI that does not wrap another (\(uri))")) }
                uri = String(parts[3])
            }
            guard let components = URLComponents(string: uri), let scheme = components.scheme?.lowercased() else {
                return .failure(Refusal(message: "device URI \(uri) is not a URI"))
            }
            guard scheme == "socket" || scheme == "lpd" else {
                return .failure(Refusal(message: "prints through \(scheme)://; the agent prints directly over RAW (socket://) or LPD (lpd://) only"))
            }
            var host = components.host ?? ""
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty, host.utf8.count <= 253, !host.contains(where: { $0.isWhitespace || $0 == "/" }) else {
                return .failure(Refusal(message: "device URI \(uri) names no usable host"))
            }
            if scheme == "socket" {
                let port = components.port ?? 9100
                guard (1...65535).contains(port) else { return .failure(Refusal(message: "device URI \(uri) has port \(port)")) }
                return .success(Device(protocol: .raw, host: host, port: port, queue: nil))
            }
            let port = components.port ?? 515
            guard (1...65535).contains(port) else { return .failure(Refusal(message: "device URI \(uri) has port \(port)")) }
            let queue = components.path.split(separator: "/").first.map { String($0).removingPercentEncoding ?? String($0) } ?? "lp"
            guard !queue.isEmpty, queue.utf8.count <= 256 else { return .failure(Refusal(message: "device URI \(uri) names no LPD queue")) }
            return .success(Device(protocol: .lpr, host: host, port: port, queue: queue))
        }
    }

    // MARK: Names, profiles, drivers

    /// The queue name with every character Printplane does not allow replaced by `-`.
    static func printplaneName(_ queue: String) -> String {
        let allowed = queue.map { character -> Character in
            guard let ascii = character.asciiValue else { return "-" }
            switch ascii {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "+"):
                return character
            default:
                return "-"
            }
        }
        var name = String(allowed.prefix(128))
        while name.contains("..") { name = name.replacingOccurrences(of: "..", with: ".-") }
        return name.isEmpty ? "queue" : name
    }

    /// The queue's defaults as a profile, with a note for each that had no equivalent.
    static func profile(for queue: CUPSQueue) -> (PrintProfile, [String]) {
        var notes: [String] = []
        var profile = PrintProfile()
        switch queue.sides {
        case nil, "one-sided": profile.duplex = .simplex
        case "two-sided-long-edge": profile.duplex = .longEdge
        case "two-sided-short-edge": profile.duplex = .shortEdge
        case let other?: notes.append("sides \(other) is not a PJL duplex mode; printing one-sided")
        }
        switch queue.colorMode {
        case "color", "auto": profile.color = true
        case nil, "monochrome", "bi-level", "process-monochrome", "process-bi-level", "highlight": profile.color = false
        case let other?: notes.append("print-color-mode \(other) has no PJL render mode; printing greyscale")
        }
        if let media = queue.media {
            if let paper = Self.paper(for: media) {
                profile.paper = paper
            } else {
                notes.append("media \(media) has no PJL paper name; the profile keeps A4")
            }
        }
        if let copies = queue.copies {
            profile.copies = min(999, max(1, copies))
        }
        return (profile, notes)
    }

    /// PJL `PAPER` names, by IPP/PWG 5101.1 media keyword and by PPD page size name.
    static let papers: [String: String] = [
        "na_letter_8.5x11in": "Letter", "letter": "Letter",
        "na_legal_8.5x14in": "Legal", "legal": "Legal",
        "na_executive_7.25x10.5in": "Executive", "executive": "Executive",
        "na_ledger_11x17in": "Ledger", "ledger": "Ledger", "tabloid": "Ledger",
        "iso_a3_297x420mm": "A3", "a3": "A3",
        "iso_a4_210x297mm": "A4", "a4": "A4",
        "iso_a5_148x210mm": "A5", "a5": "A5",
        "iso_b5_176x250mm": "B5", "iso-b5": "B5", "b5": "B5",
        "jis_b5_182x257mm": "JISB5", "jis_b4_257x364mm": "JISB4",
        "na_number-10_4.125x9.5in": "COM10", "env10": "COM10",
        "iso_dl_110x220mm": "DL", "envdl": "DL",
        "iso_c5_162x229mm": "C5", "envc5": "C5",
        "na_monarch_3.875x7.5in": "MONARCH", "envmonarch": "MONARCH",
    ]

    static func paper(for media: String) -> String? {
        Self.papers[media.lowercased()]
    }

    static func driver(ppd: ByteBuffer, sha256: String, queue: CUPSQueue) -> Driver {
        let summary = PPDSummary(String(decoding: ppd.readableBytesView, as: UTF8.self))
        let model = summary.nickName ?? summary.modelName ?? queue.makeAndModel ?? "CUPS PPD \(queue.name)"
        var name = Self.safeField(model, fallback: "CUPS PPD")
        if name.utf8.count > 120 { name = String(name.prefix(120)).trimmingCharacters(in: .whitespaces) }
        let version = Self.safeField(summary.fileVersion ?? "1", fallback: "1")
        return Driver(name: name, version: "\(version.prefix(100))+\(sha256.prefix(8))", os: Self.driverOS, sha256: sha256, contents: ppd)
    }

    /// `text` with characters a driver field may not hold replaced by spaces, runs collapsed.
    static func safeField(_ text: String, fallback: String) -> String {
        let mapped = text.map { character -> Character in
            guard let ascii = character.asciiValue else { return " " }
            switch ascii {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "+"):
                return character
            default:
                return " "
            }
        }
        var result = String(mapped).split(separator: " ").joined(separator: " ")
        while result.contains("..") { result = result.replacingOccurrences(of: "..", with: ".") }
        return DriverManifest.isSafeField(result) ? result : fallback
    }
}
