import LDAP
import NIOCore
import NIOPosix
import NIOSSL

/// Why a directory operation failed, with a machine-readable ``reason`` and a sentence for the
/// admin that never contains a password.
///
/// The planner treats every failure to reach or use the directory as "unavailable" (agents keep
/// their printers and retry); the settings test and the admin lookup show the exact reason.
public struct DirectoryError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: String, Sendable, Hashable {
        case notConfigured = "directory_not_configured"
        case invalidSettings = "invalid_directory_settings"
        case unreachable = "directory_unreachable"
        case tlsFailed = "directory_tls_failed"
        case timeout = "directory_timeout"
        case serviceCredentialsRefused = "directory_service_credentials_refused"
        case keyMismatch = "directory_key_mismatch"
        case baseDNNotFound = "directory_base_dn_not_found"
        case serverError = "directory_server_error"
        case unavailable = "directory_unavailable"
        case invalidCredentials = "invalid_credentials"
        case accountDisabled = "account_disabled"
        case emptyPassword = "empty_password"
    }

    private let code: Code
    /// A sentence for the admin.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The machine-readable reason.
    public var reason: String { self.code.rawValue }
    public var description: String { "\(self.reason): \(self.message)" }

    /// Errors compare by reason only.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    /// No directory settings are stored.
    public static let notConfigured = DirectoryError(.notConfigured, "No directory is configured; PUT /api/v1/admin/directory first.")
    /// A setting is malformed (URL, DN, CA, …).
    public static func invalidSettings(_ detail: String) -> Self { Self(.invalidSettings, detail) }
    /// Nothing answered at the directory's address.
    public static func unreachable(_ detail: String) -> Self { Self(.unreachable, detail) }
    /// The TLS handshake failed.
    public static func tlsFailed(_ detail: String) -> Self { Self(.tlsFailed, detail) }
    /// The directory did not answer in time.
    public static func timeout(_ detail: String) -> Self { Self(.timeout, detail) }
    /// The service account's bind was refused (AD: `data 52e` is a wrong password).
    public static func serviceCredentialsRefused(_ detail: String) -> Self { Self(.serviceCredentialsRefused, detail) }
    /// The stored bind password cannot be decrypted with the key this server has.
    public static func keyMismatch(_ detail: String) -> Self { Self(.keyMismatch, detail) }
    /// The configured base DN does not exist on the server.
    public static func baseDNNotFound(_ detail: String) -> Self { Self(.baseDNNotFound, detail) }
    /// The directory answered an operation with an error.
    public static func serverError(_ detail: String) -> Self { Self(.serverError, detail) }
    /// A lookup was skipped because recent ones failed (the directory is presumed down).
    public static func unavailable(_ detail: String) -> Self { Self(.unavailable, detail) }
    /// A user's name or password is wrong (never says which).
    public static let invalidCredentials = DirectoryError(.invalidCredentials, "The user name or password is wrong.")
    /// The account is disabled in the directory (userAccountControl bit 0x2).
    public static let accountDisabled = DirectoryError(.accountDisabled, "The account is disabled in the directory.")
    /// An empty password: a simple bind with one is an unauthenticated bind that succeeds (RFC 4513 §5.1.2).
    public static let emptyPassword = DirectoryError(.emptyPassword, "A password is required.")

    /// Whether the failure is about reaching or using the directory (as opposed to a user's
    /// credentials): check-ins that need it answer 503 directory_unavailable.
    public var isUnavailability: Bool {
        switch self.code {
        case .invalidCredentials, .accountDisabled, .emptyPassword, .invalidSettings, .notConfigured: return false
        default: return true
        }
    }

    /// Classifies an LDAP client failure. (A function of its own, reading the result once into
    /// plain values: inlined into ``classify(_:stage:endpoint:)``, Swift 6.3.1's optimiser
    /// crashes on the optional chains over `LDAPClientError.result`.)
    @inline(never)
    private static func classify(ldap error: LDAPClientError, stage: String, endpoint: String) -> DirectoryError {
        let isTLS = error.isTLSFailure
        let isTimeout = error.isTimeout
        let isLost = error.isConnectionLost
        let result: LDAPResult? = error.result
        let text = error.description
        if isTLS {
            return .tlsFailed("TLS with \(endpoint) failed during \(stage): \(text). Check ca_pem (the directory's CA) and that its certificate names the host in the URL.")
        }
        if isTimeout {
            return .timeout("\(endpoint) did not answer the \(stage) in time.")
        }
        if isLost {
            return .unreachable("\(endpoint) closed the connection during \(stage): \(text)")
        }
        guard let result else { return .serverError("\(stage) failed: \(text)") }
        let diagnostic = result.diagnosticMessage
        if result.resultCode == .invalidCredentials {
            // Pooled connections bind as the service account; a user's own bind is handled by
            // authenticate before it gets here.
            return .serviceCredentialsRefused("The directory refused the service account's bind: \(diagnostic.isEmpty ? "invalidCredentials" : diagnostic). Check bind_dn and bind_password.")
        }
        return .serverError("The directory answered the \(stage) with \(result.resultCode)\(diagnostic.isEmpty ? "" : ": " + diagnostic)")
    }

    /// The server's result code, if it answered. (Read through a function that is never
    /// inlined, for the optimiser crash described at ``classify(ldap:stage:endpoint:)``.)
    @inline(never)
    static func resultCode(of error: LDAPClientError) -> LDAPResultCode? {
        let result: LDAPResult? = error.result
        return result.map(\.resultCode)
    }

    /// Whether a refused bind was refused because the account is disabled (AD's `data 533`).
    @inline(never)
    static func isDisabledAccount(_ error: LDAPClientError) -> Bool {
        let result: LDAPResult? = error.result
        guard let result else { return false }
        return result.diagnosticMessage.contains("data 533")
    }

    /// Classifies a failure of `stage` (connect, bind, search …) against `endpoint` (`host:port`).
    static func classify(_ error: any Error, stage: String, endpoint: String) -> DirectoryError {
        switch error {
        case let error as DirectoryError:
            return error
        case let error as LDAPClientError:
            return Self.classify(ldap: error, stage: stage, endpoint: endpoint)
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            return .tlsFailed("TLS with \(endpoint) failed during \(stage): \(error). Check ca_pem (the directory's CA) and that its certificate names the host in the URL.")
        case is NIOConnectionError, is IOError, is ChannelError:
            return .unreachable("Cannot connect to \(endpoint): \(error)")
        default:
            return .serverError("\(stage) against \(endpoint) failed: \(error)")
        }
    }
}
