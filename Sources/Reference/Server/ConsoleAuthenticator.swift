import Foundation

/// Decides who may sign in to the console: the seam where sign-in methods plug in.
///
/// The console asks each authenticator in turn (``PrintplaneServer/build(configuration:logger:store:consoleAuthenticators:)``
/// puts ``AdminKeyAuthenticator`` first, then the ones given); the first to answer a
/// ``ConsoleUser`` wins, and if none does, the attempt counts as failed (throttled and
/// audited). The console owns everything else: the form, CSRF, throttling, sessions.
///
/// A directory sign-in (DESIGN.md §4: search for the user with the service account, then
/// bind as the user) is an authenticator that answers `nil` when `username` is empty,
/// calls `DirectoryService.authenticate(user:password:)` otherwise, and may check group
/// membership before answering `ConsoleUser(name: "alice@corp.example.com", method: "directory")`.
/// It throws when the directory cannot be asked (the console then shows "sign-in is
/// unavailable" with 503 and does not count a failure against the client).
public protocol ConsoleAuthenticator: Sendable {
    /// Whether this authenticator reads the user name field; the login form shows the
    /// field only when one does.
    var usesUsername: Bool { get }

    /// The user these credentials sign in as, or `nil` if they are not this
    /// authenticator's to accept or are wrong. Must not reveal which (no distinct errors).
    func authenticate(username: String, secret: String) async throws -> ConsoleUser?
}

/// A signed-in console user.
public struct ConsoleUser: Sendable, Hashable {
    /// How the user appears in the audit log (`console:<name>@<peer>`) and the page header.
    public var name: String
    /// The authenticator that accepted them, e.g. `admin-key` or `directory`.
    public var method: String

    public init(name: String, method: String) {
        self.name = name
        self.method = method
    }
}

/// Signs in with the admin key from `DATA_DIR/admin.key`, checked exactly as the JSON
/// API checks it (``ServerIdentity/isAdminKey(_:)``: SHA-256, constant-time compare).
/// The user name must be empty; the user is named after the key's non-secret hint, so the
/// audit log reads the same for the API and the console.
public struct AdminKeyAuthenticator: ConsoleAuthenticator {
    let identity: ServerIdentity

    /// Checks against `identity`'s admin key (only its SHA-256 is held).
    public init(identity: ServerIdentity) {
        self.identity = identity
    }

    /// The admin key needs no user name.
    public var usesUsername: Bool { false }

    /// The user for the admin key; `nil` for a user name or any other secret.
    public func authenticate(username: String, secret: String) async throws -> ConsoleUser? {
        guard username.isEmpty, self.identity.isAdminKey(secret) else { return nil }
        return ConsoleUser(name: "admin-key(\(secret.prefix(10))…)", method: "admin-key")
    }
}
