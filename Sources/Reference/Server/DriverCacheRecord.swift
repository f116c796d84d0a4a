import Foundation
import PrintplaneCore

/// A LAN driver cache as stored: the registration an admin made, bound to the enrolled agent
/// (device credential) the cache runs as, and the last certificate the CA signed for it.
public struct DriverCacheRecord: Codable, Sendable, Hashable {
    public var id: DriverCacheID
    public var name: String
    /// `https://host:port` as ``DriverCacheURL`` prints it.
    public var url: String
    /// The enrolled device the cache runs as; revoking it takes the cache out of every plan.
    public var agentID: AgentID
    /// Agents with an address in one of these use the cache.
    public var ranges: [IPRange]
    /// Printers at one of these sites name the cache first.
    public var sites: [String]
    public var createdAt: Date
    public var updatedAt: Date
    /// Hex serial of the last certificate signed for the cache, if any.
    public var certificateSerial: String?
    public var certificateNotAfter: Date?

    public init(
        id: DriverCacheID, name: String, url: String, agentID: AgentID, ranges: [IPRange], sites: [String], createdAt: Date, updatedAt: Date,
        certificateSerial: String? = nil, certificateNotAfter: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.url = url
        self.agentID = agentID
        self.ranges = ranges
        self.sites = sites
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.certificateSerial = certificateSerial
        self.certificateNotAfter = certificateNotAfter
    }

    /// What the planner needs of it.
    public var route: DriverCacheRoute { DriverCacheRoute(id: self.id, name: self.name, url: self.url, ranges: self.ranges, sites: self.sites) }

    enum CodingKeys: String, CodingKey {
        case id, name, url, ranges, sites
        case agentID = "agent_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case certificateSerial = "certificate_serial"
        case certificateNotAfter = "certificate_not_after"
    }

    /// Ranges and sites are stored as JSON arrays of strings, the same in SQLite and PostgreSQL.
    static func encodeList(_ values: [String]) -> String {
        (try? String(decoding: JSONEncoder().encode(values), as: UTF8.self)) ?? "[]"
    }

    static func decodeList(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    static func decodeRanges(_ text: String) -> [IPRange] {
        self.decodeList(text).compactMap { IPRange($0) }
    }
}
