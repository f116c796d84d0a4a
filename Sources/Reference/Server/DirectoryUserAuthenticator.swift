/// A user's own directory (AD) password on the user API, for pull-print release (DESIGN.md §4:
/// the service account finds the user, the server binds as the user).
///
/// Answers `nil` for anything but HTTP Basic credentials, and while no directory is configured
/// (the user API then says `directory_not_configured`). A wrong password, an unknown or
/// disabled account, or an empty password is `invalid_credentials` (which one is never said);
/// a directory that cannot be asked is `directory_unavailable` (503, retry later).
public struct DirectoryUserAuthenticator: UserAuthenticator {
    let directory: DirectoryService

    public init(directory: DirectoryService) {
        self.directory = directory
    }

    public func authenticate(_ credentials: UserCredentials) async throws -> PrintUser? {
        guard case .password(let user, let password) = credentials, self.directory.isConfigured else { return nil }
        do {
            let principal = try await self.directory.authenticate(user: user, password: password)
            return PrintUser(name: principal.accountName, actor: "\(principal.accountName) (directory)")
        } catch let error as DirectoryError where error.isUnavailability {
            throw ServerError.directoryUnavailable(retryAfter: 30, detail: "\(error)")
        } catch is DirectoryError {
            throw ServerError.invalidCredentials
        }
    }
}
