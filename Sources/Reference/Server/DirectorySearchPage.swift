/// What an admin browses for when choosing a group or OU target.
public enum DirectorySearchKind: String, Codable, Sendable, CaseIterable {
    case group
    case organizationalUnit = "ou"
}

/// One page of groups or OUs from `GET /api/v1/admin/directory/search`.
public struct DirectorySearchPage: Sendable, Codable, Hashable {
    /// A directory object an assignment can target.
    public struct Item: Sendable, Codable, Hashable {
        /// The DN to put in the assignment's target.
        public var dn: String
        /// Its `cn` (groups) or `ou`/`cn` (OUs and containers).
        public var name: String
    }

    public var kind: DirectorySearchKind
    public var query: String
    public var items: [Item]
    public var limit: Int
    public var offset: Int
    /// Where the next page starts, when there is one.
    public var nextOffset: Int?

    enum CodingKeys: String, CodingKey {
        case kind, query, items, limit, offset
        case nextOffset = "next_offset"
    }
}
