import Foundation
import PrintplaneCore

/// The daemon's installer: one JSON queue definition per printer in `DIR/<name>.json`,
/// written atomically, naming the printer's address, protocol, profile and the verified
/// driver file. `printplane agent print --printer NAME` reads these.
public struct QueueDefinitionInstaller: PrinterInstaller {
    /// One local print queue.
    public struct QueueDefinition: Codable, Sendable, Hashable {
        public var name: String
        public var printer: PlannedPrinter
        public var driverSHA256: String?
        public var driverPath: String?

        enum CodingKeys: String, CodingKey {
            case name, printer
            case driverSHA256 = "driver_sha256"
            case driverPath = "driver_path"
        }
    }

    public let directory: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    }

    /// A queue file name: the printer's name with anything but letters, digits, '.', '_'
    /// and '-' replaced, so a printer name can never escape the directory.
    public static func fileName(for name: String) -> String {
        let safe = String(name.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": return Character(scalar)
            default: return "_"
            }
        })
        return (safe.hasPrefix(".") ? "_" + safe.dropFirst() : safe) + ".json"
    }

    public func install(_ printer: InstalledPrinter, driver: StoredDriver?) async throws {
        let definition = QueueDefinition(name: printer.printer.name, printer: printer.printer, driverSHA256: driver?.sha256, driverPath: driver?.path)
        try AtomicFile.write(try WireCoding.makeEncoder().encode(definition), to: "\(self.directory)/\(Self.fileName(for: printer.printer.name))", mode: 0o644)
    }

    public func remove(_ printer: InstalledPrinter) async throws {
        let path = "\(self.directory)/\(Self.fileName(for: printer.printer.name))"
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    }
}
