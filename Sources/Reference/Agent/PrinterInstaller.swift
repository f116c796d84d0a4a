import PrintplaneCore

/// A printer the agent has installed: what the plan said, and which driver it got.
public struct InstalledPrinter: Codable, Sendable, Hashable {
    public var printer: PlannedPrinter
    /// The verified driver's digest, nil for a printer without a driver.
    public var driverSHA256: String?

    public init(printer: PlannedPrinter, driverSHA256: String?) {
        self.printer = printer
        self.driverSHA256 = driverSHA256
    }

    enum CodingKeys: String, CodingKey {
        case printer
        case driverSHA256 = "driver_sha256"
    }
}

/// What the operating system is told when a printer comes or goes. The daemon writes a
/// queue definition (and, with `--installer cups`, a CUPS queue); the simulator keeps
/// nothing beyond the agent's own state.
public protocol PrinterInstaller: Sendable {
    /// Creates or replaces the local queue for `printer`, using the verified driver.
    func install(_ printer: InstalledPrinter, driver: StoredDriver?) async throws
    /// Removes the local queue named `name`.
    func remove(_ printer: InstalledPrinter) async throws
}

/// The simulator's installer: the agent's state already records what is installed.
public struct StateOnlyPrinterInstaller: PrinterInstaller {
    public init() {}
    public func install(_ printer: InstalledPrinter, driver: StoredDriver?) async throws {}
    public func remove(_ printer: InstalledPrinter) async throws {}
}
