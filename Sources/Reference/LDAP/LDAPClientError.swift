/// Why an LDAP client operation failed.
///
/// When the server answered, ``resultCode`` and ``diagnosticMessage`` carry what it said; AD's
/// diagnostics hold the detail that matters (`data 52e` is a wrong password, `data 533` a
/// disabled account), so they are never dropped.
public struct LDAPClientError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case operationFailed
        case timeout
        case connectionClosed
        case disconnectedByServer
        case unexpectedResponse
        case tlsNotAvailable
        case tlsFailed
        case transportFailed
    }

    private let code: Code
    /// The server's result, when it sent one.
    public let result: LDAPResult?
    private let detail: String

    private init(_ code: Code, result: LDAPResult? = nil, detail: String) {
        self.code = code
        self.result = result
        self.detail = detail
    }

    /// The server's result code, when it sent one.
    public var resultCode: LDAPResultCode? { self.result?.resultCode }
    /// The server's diagnostic message, when it sent one.
    public var diagnosticMessage: String? { self.result?.diagnosticMessage }

    public var description: String {
        if let result {
            return "LDAP \(self.detail) failed: \(result.resultCode)\(result.diagnosticMessage.isEmpty ? "" : ": " + result.diagnosticMessage)"
        }
        return "LDAP error: \(self.detail)"
    }

    /// Errors compare by kind and result code, so tests can match `.operationFailed(...)`.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code && lhs.resultCode == rhs.resultCode }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
        hasher.combine(self.resultCode)
    }

    /// The server answered `operation` with a non-success result.
    public static func operationFailed(_ operation: String, _ result: LDAPResult) -> Self {
        Self(.operationFailed, result: result, detail: operation)
    }

    /// No answer arrived within the configured time.
    public static func timeout(_ operation: String) -> Self {
        Self(.timeout, detail: "\(operation) timed out")
    }

    /// The connection closed before the answer arrived.
    public static let connectionClosed = Self(.connectionClosed, detail: "connection closed")

    /// The server sent a Notice of Disconnection (RFC 4511 §4.4.1).
    public static func disconnectedByServer(_ result: LDAPResult) -> Self {
        Self(.disconnectedByServer, result: result, detail: "server disconnected")
    }

    /// The server answered with a PDU of the wrong type.
    public static func unexpectedResponse(_ detail: String) -> Self {
        Self(.unexpectedResponse, detail: "unexpected response: \(detail)")
    }

    /// The TLS handshake or the TLS layer failed: an untrusted or mismatched certificate, a
    /// protocol mismatch, or a server that does not speak TLS on an LDAPS port.
    public static func tlsFailed(_ detail: String) -> Self {
        Self(.tlsFailed, detail: "TLS failed: \(detail)")
    }

    /// The connection failed below LDAP (a socket or framing error).
    public static func transportFailed(_ detail: String) -> Self {
        Self(.transportFailed, detail: "connection failed: \(detail)")
    }

    /// Whether the operation failed because TLS did (certificate, handshake).
    public var isTLSFailure: Bool { self.code == .tlsFailed }
    /// Whether no answer arrived in time.
    public var isTimeout: Bool { self.code == .timeout }
    /// Whether the connection is gone (closed, reset, or the server disconnected).
    public var isConnectionLost: Bool {
        self.code == .connectionClosed || self.code == .disconnectedByServer || self.code == .transportFailed
    }

    /// StartTLS or LDAPS was requested without a TLS configuration.
    public static let tlsNotAvailable = Self(.tlsNotAvailable, detail: "TLS was requested but no TLS configuration was given")
}
