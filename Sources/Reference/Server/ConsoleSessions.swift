import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import PrintplaneCore

/// Console sessions: the cookie, what is stored (``ConsoleSessionRecord``, through the
/// ``Store``), expiry, and the CSRF tokens that go with a session and with the login form.
///
/// - A session ID is 256 random bits (base64url), sent only in a `Secure; HttpOnly;
///   SameSite=Strict; Path=/console` cookie. The database holds its SHA-256.
/// - A session ends after ``idleTimeout`` without a request or ``lifetime`` after sign-in,
///   whichever comes first, or at sign-out; an ended session is deleted server-side.
/// - Each session's CSRF token (synchronizer token) is HMAC-SHA256 keyed by the session ID:
///   bound to the session, different for every session, and never stored.
/// - The login form has no session yet. It is protected with a signed double-submit
///   cookie (OWASP): a random, time-stamped nonce in a cookie, and in the form the HMAC of
///   that nonce under a key derived from the server's admin-key hash, so every instance
///   sharing a data directory accepts it and no database row is written for a form view.
struct ConsoleSessions: Sendable {
    static let cookieName = "__Secure-printplane-console"
    static let loginCookieName = "__Secure-printplane-login"
    static let cookiePath = "/console"
    /// How long a login form may be used.
    static let loginFormLifetime: TimeInterval = 3600

    let store: any Store
    let clock: @Sendable () -> Date
    let idleTimeout: TimeInterval
    let lifetime: TimeInterval
    private let loginKey: SymmetricKey

    init(store: any Store, configuration: ServerConfiguration, identity: ServerIdentity) {
        self.store = store
        self.clock = configuration.clock
        self.idleTimeout = TimeInterval(configuration.consoleIdleTimeoutSeconds)
        self.lifetime = TimeInterval(configuration.consoleSessionLifetimeSeconds)
        self.loginKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: identity.adminKeyHash), info: Data("printplane.console.login-form.v1".utf8), outputByteCount: 32)
    }

    /// A signed-in session, as the request presented it.
    struct Session: Sendable {
        /// The session ID from the cookie (secret; never logged or stored).
        let id: String
        let record: ConsoleSessionRecord
        /// The token every form of this session carries.
        var csrfToken: String { ConsoleSessions.csrfToken(sessionID: self.id) }
        var user: String { self.record.user }
    }

    // MARK: Sessions

    /// Starts a session for `user`. The session the request presented, if any, is deleted in
    /// the same transaction, so an ID known before sign-in is worthless after it.
    func start(user: ConsoleUser, replacing presented: String?, audit: AuditEntry) async throws -> Session {
        let id = Self.randomSecret()
        let now = self.clock()
        let record = ConsoleSessionRecord(
            idHash: SecretToken.sha256Hex(of: id), user: user.name, createdAt: now, lastSeenAt: now,
            expiresAt: now.addingTimeInterval(self.lifetime), idleTimeout: self.idleTimeout)
        try await self.store.createConsoleSession(record, replacing: presented.map(SecretToken.sha256Hex(of:)), audit: audit)
        return Session(id: id, record: record)
    }

    /// The session ID the request's cookie carries, if it is well-formed.
    static func presentedID(_ request: Request) -> String? {
        guard let value = request.cookies[Self.cookieName]?.value, Self.isWellFormedSecret(value) else { return nil }
        return value
    }

    /// The request's live session, its idle clock moved on; `nil` when there is none or it
    /// has ended (an ended one is deleted).
    func current(_ request: Request) async throws -> Session? {
        guard let id = Self.presentedID(request) else { return nil }
        let hash = SecretToken.sha256Hex(of: id)
        guard let record = try await self.store.consoleSession(idHash: hash) else { return nil }
        let now = self.clock()
        guard record.isValid(at: now) else {
            _ = try await self.store.deleteConsoleSession(idHash: hash, audit: nil)
            return nil
        }
        // Touch at most once a minute (or a tenth of the idle time): page views stay reads.
        if now.timeIntervalSince(record.lastSeenAt) >= min(60, self.idleTimeout / 10) {
            try await self.store.touchConsoleSession(idHash: hash, at: now)
        }
        return Session(id: id, record: record)
    }

    /// Ends the session server-side.
    func end(_ session: Session, audit: AuditEntry) async throws {
        _ = try await self.store.deleteConsoleSession(idHash: session.record.idHash, audit: audit)
    }

    /// The `Set-Cookie` value that carries a new session.
    static func sessionCookie(_ session: Session) -> String {
        "\(Self.cookieName)=\(session.id); Path=\(Self.cookiePath); Secure; HttpOnly; SameSite=Strict"
    }

    /// The `Set-Cookie` value that makes the browser forget the session.
    static let clearedSessionCookie = "\(cookieName)=; Path=\(cookiePath); Max-Age=0; Secure; HttpOnly; SameSite=Strict"

    static func csrfToken(sessionID: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("printplane.console.csrf.v1".utf8), using: SymmetricKey(data: Array(sessionID.utf8)))
        return Base64URL.encode(Array(mac))
    }

    /// Whether `presented` is the session's CSRF token (constant time).
    static func checkCSRF(_ presented: String?, session: Session) -> Bool {
        guard let presented else { return false }
        return SecretToken.constantTimeEquals(Array(presented.utf8), Array(session.csrfToken.utf8))
    }

    // MARK: The login form

    /// A fresh login-form nonce (for its cookie) and the token the form carries.
    func newLoginForm() -> (cookie: String, token: String) {
        let nonce = "\(Int(self.clock().timeIntervalSince1970)).\(Self.randomSecret())"
        let cookie = "\(Self.loginCookieName)=\(nonce); Path=\(Self.cookiePath); Max-Age=\(Int(Self.loginFormLifetime)); Secure; HttpOnly; SameSite=Strict"
        return (cookie, self.loginToken(nonce: nonce))
    }

    /// The login form's token for the nonce the request's cookie carries, if that nonce is
    /// well-formed and recent.
    func loginToken(for request: Request) -> String? {
        guard let nonce = request.cookies[Self.loginCookieName]?.value else { return nil }
        let parts = nonce.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let issued = Int(parts[0]), Self.isWellFormedSecret(String(parts[1])) else { return nil }
        let age = self.clock().timeIntervalSince1970 - Double(issued)
        guard age >= -60, age < Self.loginFormLifetime else { return nil }
        return self.loginToken(nonce: nonce)
    }

    /// Whether the form's token matches the request's login cookie (constant time).
    func checkLoginForm(_ presented: String?, request: Request) -> Bool {
        guard let presented, let expected = self.loginToken(for: request) else { return false }
        return SecretToken.constantTimeEquals(Array(presented.utf8), Array(expected.utf8))
    }

    static let clearedLoginCookie = "\(loginCookieName)=; Path=\(cookiePath); Max-Age=0; Secure; HttpOnly; SameSite=Strict"

    private func loginToken(nonce: String) -> String {
        Base64URL.encode(Array(HMAC<SHA256>.authenticationCode(for: Array(nonce.utf8), using: self.loginKey)))
    }

    // MARK: Secrets

    /// 256 bits from the system CSPRNG, base64url (43 characters).
    static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    static func isWellFormedSecret(_ text: String) -> Bool {
        text.utf8.count == 43 && Base64URL.decode(text)?.count == 32
    }
}
