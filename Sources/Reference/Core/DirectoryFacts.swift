/// What the directory says about one account, a user or a computer: its entry's DN and every
/// group it belongs to, directly or through nested groups.
///
/// The server resolves these (DESIGN.md §4); the targeting rules only compare them, so they stay
/// a pure function of their inputs.
public struct DirectoryAccountFacts: Sendable, Hashable, Codable {
    /// The account's entry.
    public var dn: DistinguishedName
    /// Every group the account is a member of, transitively.
    public var groups: Set<DistinguishedName>

    public init(dn: DistinguishedName, groups: Set<DistinguishedName>) {
        self.dn = dn
        self.groups = groups
    }

    /// The OUs and containers above the entry, nearest first (the domain components included).
    public var containers: [DistinguishedName] { self.dn.ancestors }
}

/// The directory facts of one check-in: the logged-in user's and the computer's, either of which
/// may be missing (a local account, a machine not joined to the domain).
///
/// The unions the targeting rules test against are computed once, here, rather than per
/// assignment.
public struct DirectoryFacts: Sendable, Hashable, Codable {
    public let user: DirectoryAccountFacts?
    public let computer: DirectoryAccountFacts?
    /// Groups of the user and of the computer.
    public let groups: Set<DistinguishedName>
    /// OUs and containers above the user's and the computer's entries.
    public let containers: Set<DistinguishedName>

    public init(user: DirectoryAccountFacts?, computer: DirectoryAccountFacts?) {
        self.user = user
        self.computer = computer
        self.groups = (user?.groups ?? []).union(computer?.groups ?? [])
        self.containers = Set((user?.containers ?? []) + (computer?.containers ?? []))
    }

    /// No account was found.
    public static let empty = DirectoryFacts(user: nil, computer: nil)

    private enum CodingKeys: String, CodingKey { case user, computer }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            user: try container.decodeIfPresent(DirectoryAccountFacts.self, forKey: .user),
            computer: try container.decodeIfPresent(DirectoryAccountFacts.self, forKey: .computer))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(self.user, forKey: .user)
        try container.encodeIfPresent(self.computer, forKey: .computer)
    }
}
