import LDAP

/// Everything `printplane ad` can be told, with the defaults DESIGN.md §8 documents.
public struct SimulatedADConfiguration: Sendable {
    /// Where the TLS certificate for LDAPS and StartTLS comes from.
    public enum Certificate: Sendable, Hashable {
        /// A fresh CA and server certificate, generated at start, valid for `hostnames`
        /// (DNS names or IP addresses). The CA is available from the running server so clients
        /// can trust it (`LDAPTLS_CACERT`).
        case generated(hostnames: [String])
        /// PEM files given on the command line.
        case files(certificateChain: String, privateKey: String)
    }

    /// Address to listen on for plain LDAP (and StartTLS).
    public var host: String
    /// Port for plain LDAP; 0 picks a free one (tests).
    public var port: Int
    /// Port for LDAPS; nil disables it, 0 picks a free one.
    public var ldapsPort: Int?
    /// Whether StartTLS is offered on the plain port.
    public var startTLS: Bool
    public var certificate: Certificate
    /// What the directory holds.
    public var directory: DirectoryGenerator.Parameters
    /// AD's MaxPageSize: the most entries one search (or one page) returns.
    public var maxPageSize: Int
    /// Faults active from the start; they can be changed while running.
    public var faults: SimulatedADFaults

    public init(
        host: String = "127.0.0.1",
        port: Int = 3890,
        ldapsPort: Int? = nil,
        startTLS: Bool = true,
        certificate: Certificate = .generated(hostnames: ["localhost", "127.0.0.1"]),
        directory: DirectoryGenerator.Parameters = .init(),
        maxPageSize: Int = 1000,
        faults: SimulatedADFaults = .init()
    ) {
        self.host = host
        self.port = port
        self.ldapsPort = ldapsPort
        self.startTLS = startTLS
        self.certificate = certificate
        self.directory = directory
        self.maxPageSize = maxPageSize
        self.faults = faults
    }
}

/// Faults the simulated AD can inject, so clients can be tested against a domain controller
/// that is slow, unreachable, flaky or rejecting credentials.
public struct SimulatedADFaults: Sendable, Hashable, CustomStringConvertible {
    /// Added before every response.
    public var latency: Duration
    /// Added before bind responses only (an overloaded DC, or a slow password check).
    public var bindDelay: Duration
    /// New connections are accepted and immediately closed (a DC that is down or firewalled).
    public var refuseConnections: Bool
    /// Searches send this many entries and then the connection is dropped without a result.
    public var dropSearchAfterEntries: Int?
    /// Every bind fails with invalidCredentials, as if the service account's password changed
    /// (Administrator is spared, so the admin switch can always turn it off again).
    public var rejectBinds: Bool

    public init(
        latency: Duration = .zero,
        bindDelay: Duration = .zero,
        refuseConnections: Bool = false,
        dropSearchAfterEntries: Int? = nil,
        rejectBinds: Bool = false
    ) {
        self.latency = latency
        self.bindDelay = bindDelay
        self.refuseConnections = refuseConnections
        self.dropSearchAfterEntries = dropSearchAfterEntries
        self.rejectBinds = rejectBinds
    }

    public var description: String {
        "latency=\(Self.milliseconds(self.latency))ms bind-delay=\(Self.milliseconds(self.bindDelay))ms "
            + "refuse=\(self.refuseConnections ? "on" : "off") drop-after=\(self.dropSearchAfterEntries.map(String.init) ?? "off") "
            + "reject-binds=\(self.rejectBinds ? "on" : "off")"
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// Applies a fault command such as `latency=200ms,refuse=on,drop-after=10`; the admin
    /// extended operation and the CLI both use this syntax. `reset` clears every fault.
    public mutating func apply(_ command: String) throws {
        for item in command.split(separator: ",").map({ $0.trimmingCharacters() }) where !item.isEmpty {
            if item == "reset" {
                self = SimulatedADFaults()
                continue
            }
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw SimulatedADError.invalidFault(item) }
            let (key, value) = (parts[0], parts[1])
            switch key {
            case "latency": self.latency = try Self.duration(value, item)
            case "bind-delay": self.bindDelay = try Self.duration(value, item)
            case "refuse": self.refuseConnections = try Self.flag(value, item)
            case "reject-binds": self.rejectBinds = try Self.flag(value, item)
            case "drop-after":
                if value == "off" {
                    self.dropSearchAfterEntries = nil
                } else {
                    guard let count = Int(value), count >= 0 else { throw SimulatedADError.invalidFault(item) }
                    self.dropSearchAfterEntries = count
                }
            default: throw SimulatedADError.invalidFault(item)
            }
        }
    }

    /// Parses `250ms`, `2s` or a bare number of milliseconds.
    public static func duration(_ text: String, _ item: String) throws -> Duration {
        if text.hasSuffix("ms"), let value = Int64(text.dropLast(2)), value >= 0 { return .milliseconds(value) }
        if text.hasSuffix("s"), let value = Int64(text.dropLast(1)), value >= 0 { return .seconds(value) }
        if let value = Int64(text), value >= 0 { return .milliseconds(value) }
        throw SimulatedADError.invalidFault(item)
    }

    private static func flag(_ text: String, _ item: String) throws -> Bool {
        switch text {
        case "on", "true", "1": return true
        case "off", "false", "0": return false
        default: throw SimulatedADError.invalidFault(item)
        }
    }
}

/// Errors from configuring or running the simulated AD.
public struct SimulatedADError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case invalidFault
        case invalidDomain
        case certificate
        case noSuchGroup
    }

    private let code: Code
    public let description: String

    private init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    /// A fault command did not parse.
    public static func invalidFault(_ item: String) -> Self {
        Self(.invalidFault, "invalid fault '\(item)': expected latency=MS, bind-delay=MS, refuse=on|off, drop-after=N|off, reject-binds=on|off or reset")
    }

    /// The domain name is not a DNS name with at least two labels.
    public static func invalidDomain(_ domain: String) -> Self {
        Self(.invalidDomain, "invalid domain '\(domain)': expected a DNS name such as corp.example.com")
    }

    /// A membership change named a group the directory does not hold.
    public static func noSuchGroup(_ dn: String) -> Self {
        Self(.noSuchGroup, "no group with DN '\(dn)'")
    }

    /// The certificate could not be generated or loaded.
    public static func certificate(_ reason: String) -> Self {
        Self(.certificate, "TLS certificate: \(reason)")
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        var slice = self
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }
}
