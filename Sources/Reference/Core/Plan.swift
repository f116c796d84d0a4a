import Crypto
import Foundation

/// The printers an agent should have, and what to change to get there.
public struct Plan: Codable, Sendable, Hashable {
    /// The full desired set, ordered by printer ID.
    public var printers: [PlannedPrinter]
    /// Desired printers the agent does not have yet.
    public var install: [PrinterID]
    /// Desired printers the agent has with another driver.
    public var update: [PrinterID]
    /// Installed printers that are no longer assigned.
    public var remove: [PrinterID]

    public init(printers: [PlannedPrinter], install: [PrinterID], update: [PrinterID], remove: [PrinterID]) {
        self.printers = printers
        self.install = install
        self.update = update
        self.remove = remove
    }

    /// Computes the install/update/remove actions from what the agent reports installed.
    public init(desired printers: [PlannedPrinter], installed: [CheckInRequest.InstalledPrinter]) {
        let installedByID = Dictionary(installed.map { ($0.printerID, $0.driverSHA256) }, uniquingKeysWith: { first, _ in first })
        let desiredIDs = Set(printers.map(\.id))
        self.printers = printers
        self.install = printers.filter { installedByID[$0.id] == nil }.map(\.id)
        self.update = printers.filter { printer in
            guard let had = installedByID[printer.id] else { return false }
            return had != printer.driver?.manifest.manifest.sha256
        }.map(\.id)
        self.remove = installed.map(\.printerID).filter { !desiredIDs.contains($0) }.sorted()
    }

    /// The ETag of a desired printer set: a digest of its canonical JSON, so equal sets
    /// always have equal tags whichever server instance computed them.
    public static func etag(for printers: [PlannedPrinter]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let bytes = (try? encoder.encode(printers)) ?? Data()
        return "p1-" + SHA256.hash(data: bytes).prefix(16).hexString
    }
}

/// One printer in a plan, with everything the agent needs to install and print to it.
public struct PlannedPrinter: Codable, Sendable, Hashable {
    public var id: PrinterID
    public var name: String
    /// Host name or IP address on the LAN.
    public var address: String
    public var `protocol`: PrinterProtocol
    public var port: Int
    /// LPD queue name (lpr only).
    public var queue: String?
    public var location: String?
    public var driver: PlannedDriver?
    public var profile: PrintProfile

    public init(id: PrinterID, name: String, address: String, protocol: PrinterProtocol, port: Int, queue: String?, location: String?, driver: PlannedDriver?, profile: PrintProfile) {
        self.id = id
        self.name = name
        self.address = address
        self.protocol = `protocol`
        self.port = port
        self.queue = queue
        self.location = location
        self.driver = driver
        self.profile = profile
    }
}

/// How the agent talks to a printer.
public enum PrinterProtocol: String, Codable, Sendable, CaseIterable {
    /// AppSocket/RAW, usually TCP 9100.
    case raw
    /// RFC 1179 LPD, usually TCP 515.
    case lpr

    /// The conventional port.
    public var defaultPort: Int { self == .raw ? 9100 : 515 }
}

/// A driver in a plan: its signed manifest and where to fetch it, best source first.
public struct PlannedDriver: Codable, Sendable, Hashable {
    public var id: DriverID
    public var manifest: SignedDriverManifest
    /// URLs or server-relative paths, LAN cache first, then the cloud.
    public var sources: [String]

    public init(id: DriverID, manifest: SignedDriverManifest, sources: [String]) {
        self.id = id
        self.manifest = manifest
        self.sources = sources
    }
}
