/// The outcome of trying directory settings: connect, TLS, bind as the service account, read
/// the RootDSE, find the base DN. `ok` is false with the stage that failed and why.
public struct DirectoryTestReport: Sendable, Codable, Hashable {
    public var ok: Bool
    /// `connect`, `tls`, `bind`, `root_dse` or `base_dn`, when something failed.
    public var stage: String?
    /// A machine-readable reason such as `directory_service_credentials_refused`.
    public var reason: String?
    /// A sentence for the admin, with the directory's own diagnostic (AD's `data 52e`, …).
    public var message: String?
    /// `ldaps`, `starttls` or `plain`.
    public var transport: String
    /// The flavour lookups will use (the detected one when the setting is `auto`).
    public var flavour: String?
    /// What the RootDSE says the server is.
    public var detectedFlavour: String?
    /// The server's default naming context.
    public var namingContext: String?
    public var vendor: String?
    public var baseDN: String
    public var elapsedMilliseconds: Int
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case ok, stage, reason, message, transport, flavour, vendor, warnings
        case detectedFlavour = "detected_flavour"
        case namingContext = "naming_context"
        case baseDN = "base_dn"
        case elapsedMilliseconds = "elapsed_ms"
    }
}
