/// Console sign-in with directory (AD) credentials (DESIGN.md §4): the service account finds
/// the user, the server binds as the user, and only members of the configured admin group
/// (`admin_group_dn`, nested membership included) are let in.
///
/// With no admin group configured, no directory user may sign in: a domain account alone
/// never makes anyone a Printplane admin. The login form asks for a user name only while
/// directory settings exist.
public struct DirectoryConsoleAuthenticator: ConsoleAuthenticator {
    let directory: DirectoryService

    public init(directory: DirectoryService) {
        self.directory = directory
    }

    public var usesUsername: Bool { self.directory.isConfigured }

    /// The user for right credentials of an admin-group member; `nil` for an empty user name
    /// (the admin key's form), wrong credentials, a disabled account, a non-member, or no
    /// directory. Throws when the directory cannot be asked, which the console answers with
    /// 503 "sign-in is unavailable" without counting a failure.
    public func authenticate(username: String, secret: String) async throws -> ConsoleUser? {
        guard !username.isEmpty, self.directory.isConfigured else { return nil }
        let principal: DirectoryPrincipal
        do {
            principal = try await self.directory.authenticate(user: username, password: secret)
        } catch let error as DirectoryError where !error.isUnavailability {
            return nil
        }
        guard principal.isAdmin else { return nil }
        return ConsoleUser(name: principal.userPrincipalName ?? principal.accountName, method: "directory")
    }
}
