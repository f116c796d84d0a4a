import NIOSSL

/// Where and how an ``LDAPConnection`` connects.
public struct LDAPClientConfiguration: Sendable {
    /// How the connection is secured.
    public enum Transport: Hashable, Sendable {
        /// Plain LDAP (port 389). AD refuses simple binds on it unless signing is relaxed.
        case plain
        /// LDAP over TLS from the first byte (LDAPS, port 636).
        case ldaps
        /// Plain LDAP upgraded with the StartTLS extended operation before anything else.
        case startTLS
    }

    public var host: String
    public var port: Int
    public var transport: Transport
    /// Trust roots and client settings for LDAPS and StartTLS.
    public var tls: TLSConfiguration
    /// The name checked against the server certificate; defaults to `host`.
    public var serverHostname: String?
    public var connectTimeout: Duration
    /// The longest any one operation (bind, one search page, extended op) may take.
    public var operationTimeout: Duration
    /// Bounds on what the client accepts from the server.
    public var limits: LDAPMessage.Limits

    public init(
        host: String,
        port: Int = 389,
        transport: Transport = .plain,
        tls: TLSConfiguration = .makeClientConfiguration(),
        serverHostname: String? = nil,
        connectTimeout: Duration = .seconds(10),
        operationTimeout: Duration = .seconds(30),
        limits: LDAPMessage.Limits = .client
    ) {
        self.host = host
        self.port = port
        self.transport = transport
        self.tls = tls
        self.serverHostname = serverHostname
        self.connectTimeout = connectTimeout
        self.operationTimeout = operationTimeout
        self.limits = limits
    }
}

extension Duration {
    var nanosecondsForNIO: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
