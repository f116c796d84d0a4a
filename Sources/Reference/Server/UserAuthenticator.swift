import Foundation

/// Decides who is calling the user API (`/api/v1/user/…`, pull-print release): the seam where
/// sign-in methods plug in.
///
/// The API asks each authenticator in turn (``PrintplaneServer/build(configuration:logger:store:userAuthenticators:)``
/// puts ``AdminKeyUserAuthenticator`` first, then the ones given); the first to answer a
/// ``PrintUser`` wins. An authenticator answers `nil` for credentials that are not its kind, and
/// throws a ``ServerError`` for credentials of its kind that are wrong (`invalid_credentials`,
/// 401) or cannot be checked now (`directory_unavailable`, 503). When none answers, HTTP Basic
/// credentials get 401 `directory_not_configured` and a bearer key 401 `admin_key_invalid`.
///
/// A directory sign-in (DESIGN.md §4: search for the user with the service account, then bind as
/// the user) is an authenticator that answers `nil` for `.bearer`, and for `.password` calls
/// `DirectoryService.authenticate(user:password:)` and answers
/// `PrintUser(name: principal.accountName, actor: "\(principal.accountName) (directory)")`.
public protocol UserAuthenticator: Sendable {
    /// The user these credentials prove, `nil` when they are not this authenticator's kind.
    func authenticate(_ credentials: UserCredentials) async throws -> PrintUser?
}

/// What a user-API request presented.
public enum UserCredentials: Sendable, Hashable {
    /// `Authorization: Bearer KEY`, acting for the user named by `?user=` or `X-Printplane-User`.
    case bearer(String, actingFor: String?)
    /// `Authorization: Basic …`: a user's own name and password.
    case password(user: String, password: String)
}

/// Someone the user API acts for.
public struct PrintUser: Sendable, Hashable {
    /// The user name, as held jobs carry it (compared case-insensitively).
    public var name: String
    /// Who acted, for the audit log and `released_by`.
    public var actor: String

    public init(name: String, actor: String) {
        self.name = name
        self.actor = actor
    }

    /// Whether `name` can be a user: 1 to 256 bytes, no control characters.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 256 && !name.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}

/// The admin key acting for a named user: what admins and scripts use (`printplane release
/// --admin-key-file … --user alice`). The key is checked as everywhere else (its SHA-256,
/// compared in constant time); the user must be named.
public struct AdminKeyUserAuthenticator: UserAuthenticator {
    let identity: ServerIdentity

    public init(identity: ServerIdentity) {
        self.identity = identity
    }

    public func authenticate(_ credentials: UserCredentials) async throws -> PrintUser? {
        guard case .bearer(let key, let user) = credentials, self.identity.isAdminKey(key) else { return nil }
        guard let user else {
            throw ServerError.invalidField("the admin key acts for a named user: add ?user=NAME or an X-Printplane-User header")
        }
        guard PrintUser.isValidName(user) else { throw ServerError.invalidField("user must be 1 to 256 bytes without control characters") }
        return PrintUser(name: user, actor: "admin-key(\(key.prefix(10))…) for \(user)")
    }
}
