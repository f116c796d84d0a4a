import Foundation
import PrintplaneCore

/// LAN driver caches through the admin API: what `printplane cache register|list|update|delete` runs.
extension AdminClient {
    /// A cache registration to create or (whole) replace.
    public struct DriverCacheInput: Encodable, Sendable {
        public var name: String
        public var url: String
        public var agentID: AgentID
        public var ranges: [String]
        public var sites: [String]

        public init(name: String, url: String, agentID: AgentID, ranges: [String] = [], sites: [String] = []) {
            self.name = name
            self.url = url
            self.agentID = agentID
            self.ranges = ranges
            self.sites = sites
        }

        enum CodingKeys: String, CodingKey { case name, url, ranges, sites, agentID = "agent_id" }
    }

    /// Registers a cache; agents in its ranges (or with printers at its sites) get it first.
    public func registerDriverCache(_ input: DriverCacheInput) async throws -> DriverCacheRecord {
        try await self.call(.POST, "/api/v1/admin/caches", body: input)
    }

    /// Every registered cache.
    public func listDriverCaches() async throws -> [DriverCacheRecord] {
        let list: Items<DriverCacheRecord> = try await self.call(.GET, "/api/v1/admin/caches", body: Optional<String>.none)
        return list.items
    }

    /// Replaces a cache's registration.
    public func updateDriverCache(id: DriverCacheID, _ input: DriverCacheInput) async throws -> DriverCacheRecord {
        try await self.call(.PUT, "/api/v1/admin/caches/\(try Self.pathSegment(id.rawValue))", body: input)
    }

    /// Removes a cache from every plan.
    public func deleteDriverCache(id: DriverCacheID) async throws {
        try await self.callWithoutAnswer(.DELETE, "/api/v1/admin/caches/\(try Self.pathSegment(id.rawValue))")
    }

    static func pathSegment(_ id: String) throws -> String {
        guard !id.isEmpty, id.utf8.allSatisfy({ $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") && $0 > 32 }) else {
            throw Failure(status: 0, reason: "invalid_field", message: "an ID has no '/', '?', '#' or spaces")
        }
        return id
    }
}
