/// `POST /api/v1/agent/checkin`, sent with `Authorization: Bearer <device credential>`.
public struct CheckInRequest: Codable, Sendable, Hashable {
    /// A printer the agent has installed, with the driver it installed for it.
    public struct InstalledPrinter: Codable, Sendable, Hashable {
        public var printerID: PrinterID
        public var driverSHA256: String?

        public init(printerID: PrinterID, driverSHA256: String?) {
            self.printerID = printerID
            self.driverSHA256 = driverSHA256
        }

        enum CodingKeys: String, CodingKey {
            case printerID = "printer_id"
            case driverSHA256 = "driver_sha256"
        }
    }

    /// The logged-in user, if any.
    public var user: String?
    /// The workstation's addresses, as text.
    public var ipAddresses: [String]
    public var installed: [InstalledPrinter]
    /// The ETag of the last plan the agent applied; a match gets the cheap "unchanged" answer.
    public var planETag: String?

    public init(user: String?, ipAddresses: [String], installed: [InstalledPrinter], planETag: String?) {
        self.user = user
        self.ipAddresses = ipAddresses
        self.installed = installed
        self.planETag = planETag
    }

    enum CodingKeys: String, CodingKey {
        case user, installed
        case ipAddresses = "ip_addresses"
        case planETag = "plan_etag"
    }
}
