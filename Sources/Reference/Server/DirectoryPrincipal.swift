import PrintplaneCore

/// A user the directory vouched for: what ``DirectoryService/authenticate(user:password:)``
/// returns after the user's own bind succeeded.
public struct DirectoryPrincipal: Sendable, Hashable, Codable {
    /// The user's entry.
    public var dn: DistinguishedName
    /// The logon name the directory holds (`sAMAccountName` on AD, `uid` on generic LDAP).
    public var accountName: String
    public var userPrincipalName: String?
    public var displayName: String?
    public var email: String?
    /// Every group the user belongs to, nested membership included.
    public var groups: Set<DistinguishedName>
    /// Whether the user is a (nested) member of the configured admin group.
    public var isAdmin: Bool

    public init(dn: DistinguishedName, accountName: String, userPrincipalName: String?, displayName: String?, email: String?, groups: Set<DistinguishedName>, isAdmin: Bool) {
        self.dn = dn
        self.accountName = accountName
        self.userPrincipalName = userPrincipalName
        self.displayName = displayName
        self.email = email
        self.groups = groups
        self.isAdmin = isAdmin
    }

    enum CodingKeys: String, CodingKey {
        case dn, groups, email
        case accountName = "account_name"
        case userPrincipalName = "user_principal_name"
        case displayName = "display_name"
        case isAdmin = "is_admin"
    }
}
