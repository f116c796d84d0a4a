import HTTPTypes
import Hummingbird
import PrintplaneCore

/// A refusal or failure of the control plane, with the reason agents and scripts branch on.
///
/// Domain code throws these; only the HTTP edge turns them into a status and the JSON
/// body `{"reason": "...", "message": "..."}`.
public struct ServerError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: String, Sendable, Hashable {
        case tokenExpired = "token_expired"
        case tokenRevoked = "token_revoked"
        case tokenExhausted = "token_exhausted"
        case tokenUnknown = "token_unknown"
        case credentialMissing = "credential_missing"
        case credentialMalformed = "credential_malformed"
        case credentialUnknown = "credential_unknown"
        case credentialRevoked = "credential_revoked"
        case adminKeyInvalid = "admin_key_invalid"
        case malformedJSON = "malformed_json"
        case invalidField = "invalid_field"
        case unsupportedMediaType = "unsupported_media_type"
        case bodyTooLarge = "body_too_large"
        case headerTooLarge = "header_too_large"
        case notFound = "not_found"
        case methodNotAllowed = "method_not_allowed"
        case conflict = "conflict"
        case invalidDigest = "invalid_digest"
        case invalidDriverName = "invalid_driver_name"
        case rangeNotSatisfiable = "range_not_satisfiable"
        case overloaded = "overloaded"
        case downloadsBusy = "downloads_busy"
        case badRequest = "bad_request"
        case forbidden = "forbidden"
        case signInFailed = "sign_in_failed"
        case signInThrottled = "sign_in_throttled"
        case signInUnavailable = "sign_in_unavailable"
        case invalidConfiguration = "invalid_configuration"
        case directoryUnavailable = "directory_unavailable"
        case directoryNotConfigured = "directory_not_configured"
        case notACache = "not_a_cache"
        case caUnavailable = "ca_unavailable"
        case invalidCSR = "invalid_csr"
        case certificateNameRefused = "certificate_name_refused"
        case invalidCredentials = "invalid_credentials"
        case heldJobExpired = "held_job_expired"
        case heldJobNotHeld = "held_job_not_held"
        case longPollsBusy = "long_polls_busy"
        case `internal` = "internal_error"
    }

    private let code: Code
    /// A sentence for humans.
    public let message: String
    /// Seconds a client should wait before retrying (503 answers).
    public let retryAfterSeconds: Int?
    /// A status other than the reason's usual one, where one reason means different things
    /// on different routes (`directory_not_configured`: 409 for the admin's directory routes,
    /// 401 for a user's password on the user API).
    private let statusOverride: HTTPResponse.Status?

    private init(_ code: Code, _ message: String, retryAfter: Int? = nil, status: HTTPResponse.Status? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfter
        self.statusOverride = status
    }

    /// The machine-readable reason.
    public var reason: String { self.code.rawValue }

    public var description: String { "\(self.reason): \(self.message)" }

    /// The refusal for an enrollment token.
    public static func token(_ refusal: TokenRefusal) -> ServerError {
        switch refusal {
        case .tokenExpired: return .init(.tokenExpired, "The enrollment token has expired; ask an admin for a new one.")
        case .tokenRevoked: return .init(.tokenRevoked, "The enrollment token was revoked.")
        case .tokenExhausted: return .init(.tokenExhausted, "The enrollment token has been used its maximum number of times.")
        case .tokenUnknown: return .init(.tokenUnknown, "The enrollment token is not known to this server.")
        }
    }

    public static let credentialMissing = ServerError(.credentialMissing, "This call needs an Authorization: Bearer header.")
    public static let credentialMalformed = ServerError(.credentialMalformed, "The Authorization header is not a well-formed bearer credential.")
    public static let credentialUnknown = ServerError(.credentialUnknown, "The device credential is not known to this server; enroll again.")
    public static let credentialRevoked = ServerError(.credentialRevoked, "The device credential was revoked; enroll again.")
    public static let adminKeyInvalid = ServerError(.adminKeyInvalid, "The admin API key is missing or wrong.")
    public static let notFound = ServerError(.notFound, "No such resource.")
    public static let methodNotAllowed = ServerError(.methodNotAllowed, "This method is not allowed on this resource.")
    public static let internalError = ServerError(.internal, "The server failed to handle the request; it has been logged.")

    public static func malformedJSON(_ detail: String) -> ServerError { .init(.malformedJSON, "The body is not valid JSON for this call: \(detail)") }
    public static func invalidField(_ detail: String) -> ServerError { .init(.invalidField, detail) }
    public static func unsupportedMediaType(expected: String) -> ServerError { .init(.unsupportedMediaType, "The body must be sent as \(expected).") }
    public static func bodyTooLarge(limit: Int) -> ServerError { .init(.bodyTooLarge, "The body is larger than the \(limit)-byte limit for this call.") }
    public static func headerTooLarge(limit: Int) -> ServerError { .init(.headerTooLarge, "The request headers are larger than \(limit) bytes.") }
    public static func notFound(_ what: String) -> ServerError { .init(.notFound, "No such \(what).") }
    public static func conflict(_ detail: String) -> ServerError { .init(.conflict, detail) }
    public static let invalidDigest = ServerError(.invalidDigest, "A driver is addressed by 64 lowercase hex characters of its SHA-256.")
    public static func invalidDriverName(_ detail: String) -> ServerError { .init(.invalidDriverName, detail) }
    public static func rangeNotSatisfiable(size: Int64) -> ServerError { .init(.rangeNotSatisfiable, "The Range does not overlap the \(size)-byte driver.") }
    public static func overloaded(retryAfter: Int) -> ServerError { .init(.overloaded, "The server is shedding load; retry later.", retryAfter: retryAfter) }
    public static func downloadsBusy(retryAfter: Int) -> ServerError { .init(.downloadsBusy, "Too many driver downloads are in progress; retry later.", retryAfter: retryAfter) }
    public static func badRequest(_ detail: String) -> ServerError { .init(.badRequest, detail) }
    /// A console request refused before it could do anything (CSRF token, origin, session).
    public static func forbidden(_ detail: String) -> ServerError { .init(.forbidden, detail) }
    /// Console sign-in with credentials no authenticator accepted.
    public static let signInFailed = ServerError(.signInFailed, "Sign-in failed: the credentials are not valid.")
    /// Console sign-in refused for a while after repeated failures from the same address.
    public static func signInThrottled(retryAfter: Int) -> ServerError {
        .init(.signInThrottled, "Too many failed sign-ins from this address; try again in \(retryAfter) s.", retryAfter: retryAfter)
    }
    /// Console sign-in could not be checked (e.g. the directory did not answer).
    public static func signInUnavailable(_ detail: String) -> ServerError { .init(.signInUnavailable, "Sign-in is unavailable: \(detail)", retryAfter: 30) }
    /// The directory could not be asked and nothing is cached: the agent keeps its printers and
    /// retries after `retryAfter` seconds.
    public static func directoryUnavailable(retryAfter: Int, detail: String) -> ServerError {
        .init(.directoryUnavailable, "The directory is unavailable: \(detail)", retryAfter: retryAfter)
    }
    /// A directory call with no directory configured.
    public static let directoryNotConfigured = ServerError(.directoryNotConfigured, "No directory is configured; PUT /api/v1/admin/directory first.")
    /// A cache route called with the credential of a device no admin registered as a cache.
    public static let notACache = ServerError(
        .notACache, "This device is not registered as a LAN driver cache; an admin registers it with `printplane cache register --agent AGENT_ID`.")
    /// A cache asked for a certificate from a server that runs with a given certificate and holds no CA key.
    public static let caUnavailable = ServerError(
        .caUnavailable, "This server uses a given TLS certificate and holds no CA key, so it cannot sign a cache's certificate; give the cache one from the same CA with --tls-cert and --tls-key.")
    /// A certificate signing request that cannot be read, or whose signature is not its key's.
    public static func invalidCSR(_ detail: String) -> ServerError { .init(.invalidCSR, detail) }
    /// A certificate signing request naming a host the cache is not registered under (or the server's own).
    public static func certificateNameRefused(_ detail: String) -> ServerError { .init(.certificateNameRefused, detail) }
    /// HTTP Basic credentials on the user API, with no directory to check them against: 401,
    /// since the caller can authenticate another way (the admin key acting for a user).
    public static let userPasswordsNeedADirectory = ServerError(
        .directoryNotConfigured, "No directory is configured to check user passwords; use the admin key with ?user= (or X-Printplane-User) instead.",
        status: .unauthorized)
    /// A user's name or password is wrong (never says which).
    public static let invalidCredentials = ServerError(.invalidCredentials, "The user name or password is wrong.")
    /// A release of a held job past its expiry.
    public static func heldJobExpired(_ detail: String) -> ServerError { .init(.heldJobExpired, detail) }
    /// A release or cancel of a job that is no longer held (already released, printed, cancelled…).
    public static func heldJobNotHeld(_ detail: String) -> ServerError { .init(.heldJobNotHeld, detail) }
    /// More release long-polls than the server holds at once.
    public static func longPollsBusy(retryAfter: Int) -> ServerError {
        .init(.longPollsBusy, "Too many agents are waiting for releases on this server; retry later (check-ins still carry releases).", retryAfter: retryAfter)
    }
    /// A start-up problem: flags, files in the data directory, the listener.
    public static func invalidConfiguration(_ detail: String) -> ServerError { .init(.invalidConfiguration, detail) }

    /// The HTTP status this error maps to at the edge.
    public var status: HTTPResponse.Status {
        if let statusOverride { return statusOverride }
        switch self.code {
        case .tokenExpired, .tokenRevoked, .tokenExhausted, .tokenUnknown, .credentialMissing, .credentialMalformed,
            .credentialUnknown, .credentialRevoked, .adminKeyInvalid, .invalidCredentials:
            return .unauthorized
        case .signInFailed: return .unauthorized
        case .forbidden, .notACache, .certificateNameRefused: return .forbidden
        case .caUnavailable: return .conflict
        case .invalidCSR: return .badRequest
        case .signInThrottled: return .tooManyRequests
        case .signInUnavailable: return .serviceUnavailable
        case .malformedJSON, .invalidField, .invalidDigest, .invalidDriverName, .badRequest: return .badRequest
        case .unsupportedMediaType: return .unsupportedMediaType
        case .bodyTooLarge: return .contentTooLarge
        case .headerTooLarge: return .init(code: 431, reasonPhrase: "Request Header Fields Too Large")
        case .notFound: return .notFound
        case .methodNotAllowed: return .methodNotAllowed
        case .conflict, .heldJobExpired, .heldJobNotHeld: return .conflict
        case .rangeNotSatisfiable: return .rangeNotSatisfiable
        case .overloaded, .downloadsBusy, .directoryUnavailable, .longPollsBusy: return .serviceUnavailable
        case .directoryNotConfigured: return .conflict
        case .internal, .invalidConfiguration: return .internalServerError
        }
    }
}
