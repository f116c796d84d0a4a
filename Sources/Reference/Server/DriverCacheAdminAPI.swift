import Foundation
import HTTPTypes
import Hummingbird
import PrintplaneCore

/// The LAN driver cache half of the admin API (`/api/v1/admin/caches...`): register a cache
/// (name, URL, the enrolled agent it runs as, and the IP ranges and/or sites whose agents
/// should use it), list, change and delete. Every change is audited and bumps the
/// configuration generation, so the next check-ins get the new sources.
struct DriverCacheAdminAPI: Sendable {
    let configuration: ServerConfiguration
    let identity: ServerIdentity
    let store: any Store

    func register(on table: RouteTable) {
        table.add(.get, "/api/v1/admin/caches") { r, c in try await self.list(r, c) }
        table.add(.post, "/api/v1/admin/caches") { r, c in try await self.create(r, c) }
        table.add(.put, "/api/v1/admin/caches/{id}") { r, c in try await self.update(r, c) }
        table.add(.delete, "/api/v1/admin/caches/{id}") { r, c in try await self.delete(r, c) }
    }

    /// What the admin sends, on create and (whole) on update.
    struct Body: Decodable, Sendable {
        var name: String
        var url: String
        var agentID: AgentID
        var ranges: [String]?
        var sites: [String]?
        enum CodingKeys: String, CodingKey { case name, url, ranges, sites, agentID = "agent_id" }
    }

    /// The checked fields of a ``Body``.
    struct Checked: Sendable {
        var name: String
        var url: DriverCacheURL
        var agentID: AgentID
        var ranges: [IPRange]
        var sites: [String]
    }

    static func check(_ body: Body) throws -> Checked {
        guard DriverManifest.isSafeField(body.name) else {
            throw ServerError.invalidField("name must be 1 to 128 characters of letters, digits, space, '.', '_', '-', '+'")
        }
        guard let url = DriverCacheURL.parse(body.url) else {
            throw ServerError.invalidField("url must be https://HOST[:PORT] with a DNS name, an IPv4 address or a bracketed IPv6 address, and no path (agents fetch URL/drivers/<sha256>)")
        }
        guard !body.agentID.rawValue.isEmpty, body.agentID.rawValue.utf8.count <= 128 else {
            throw ServerError.invalidField("agent_id must name the enrolled agent the cache runs as (printed by `printplane cache enroll`)")
        }
        let rangeTexts = body.ranges ?? []
        let sites = (body.sites ?? []).map { $0.trimmingCharacters(in: .whitespaces) }
        guard rangeTexts.count <= 64, sites.count <= 64 else { throw ServerError.invalidField("at most 64 ranges and 64 sites") }
        var ranges = [IPRange]()
        for text in rangeTexts {
            guard let range = IPRange(text) else { throw ServerError.invalidField("ranges: \(text.prefix(64)) is not a CIDR range such as 10.1.0.0/16") }
            ranges.append(range)
        }
        for site in sites where site.isEmpty || site.utf8.count > 256 {
            throw ServerError.invalidField("sites must be 1 to 256 bytes each")
        }
        guard !ranges.isEmpty || !sites.isEmpty else {
            throw ServerError.invalidField("give at least one range or site: they say which agents use the cache")
        }
        return Checked(name: body.name, url: url, agentID: body.agentID, ranges: ranges, sites: sites)
    }

    private func decode(_ request: Request) async throws -> Checked {
        try Self.check(try await HTTPBody.decode(Body.self, from: request, limit: self.configuration.maxJSONBodyBytes))
    }

    private static func detail(_ checked: Checked) -> String {
        "url=\(checked.url) agent=\(checked.agentID) ranges=\(checked.ranges.map(\.description).joined(separator: ",")) sites=\(checked.sites.joined(separator: ","))"
    }

    private func audit(_ actor: String, _ action: String, _ target: String, _ detail: String = "") -> AuditEntry {
        AuditEntry(at: self.configuration.clock(), actor: actor, action: action, target: target, detail: detail)
    }

    func list(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try AdminAPI.authorize(request, context, identity: self.identity)
        return try HTTPBody.response(AdminAPI.ListBody(items: try await self.store.driverCaches()))
    }

    func create(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try AdminAPI.authorize(request, context, identity: self.identity)
        let checked = try await self.decode(request)
        let now = self.configuration.clock()
        let record = DriverCacheRecord(
            id: .random(), name: checked.name, url: checked.url.description, agentID: checked.agentID, ranges: checked.ranges, sites: checked.sites,
            createdAt: now, updatedAt: now)
        try await self.store.createDriverCache(record, audit: self.audit(actor, "cache.create", record.id.rawValue, "name=\(record.name) " + Self.detail(checked)))
        return try HTTPBody.response(record, status: .created)
    }

    func update(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try AdminAPI.authorize(request, context, identity: self.identity)
        let id: DriverCacheID = try AdminOperations.id(context.parameters.get("id"))
        let checked = try await self.decode(request)
        guard var record = try await self.store.driverCaches().first(where: { $0.id == id }) else { throw ServerError.notFound("cache") }
        record.name = checked.name
        record.url = checked.url.description
        record.agentID = checked.agentID
        record.ranges = checked.ranges
        record.sites = checked.sites
        record.updatedAt = self.configuration.clock()
        guard try await self.store.updateDriverCache(record, audit: self.audit(actor, "cache.update", id.rawValue, "name=\(record.name) " + Self.detail(checked))) else {
            throw ServerError.notFound("cache")
        }
        return try HTTPBody.response(record)
    }

    func delete(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try AdminAPI.authorize(request, context, identity: self.identity)
        let id: DriverCacheID = try AdminOperations.id(context.parameters.get("id"))
        guard try await self.store.deleteDriverCache(id: id, audit: self.audit(actor, "cache.delete", id.rawValue)) else { throw ServerError.notFound("cache") }
        return Response(status: .noContent)
    }
}
