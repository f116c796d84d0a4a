/// What the server resolves for a user and a computer, fresh from the directory (never from the
/// cache): the answer of `GET /api/v1/admin/directory/lookup`, for checking why a workstation
/// does or does not get a group or OU printer.
public struct DirectoryLookup: Sendable, Codable, Hashable {
    /// One account as resolved.
    public struct Account: Sendable, Codable, Hashable {
        /// The name as asked.
        public var query: String
        public var found: Bool
        public var dn: String?
        /// Every group, nested membership included, sorted.
        public var groups: [String]
        /// OUs and containers above the entry, nearest first.
        public var containers: [String]
    }

    /// The flavour the lookup used (`active_directory` or `generic`).
    public var flavour: String
    public var user: Account?
    public var computer: Account?
    public var elapsedMilliseconds: Int

    enum CodingKeys: String, CodingKey {
        case flavour, user, computer
        case elapsedMilliseconds = "elapsed_ms"
    }
}
