import Foundation
import Logging
import PostgresNIO
import PrintplaneCore

/// LAN driver caches in PostgreSQL: the same rows and rules as ``SQLiteStore`` (migration
/// `v3-driver-caches`), every mutation bumping the configuration generation in its transaction.
extension PostgresStore {
    static let driverCacheColumns = "id, name, url, agent_id, ranges, sites, created_at, updated_at, certificate_serial, certificate_not_after"

    static func driverCacheRecord(_ row: PostgresRow) throws -> DriverCacheRecord {
        let (id, name, url, agent, ranges, sites, created, updated, serial, notAfter) =
            try row.decode((String, String, String, String, String, String, Date, Date, String?, Date?).self)
        return DriverCacheRecord(
            id: .init(id), name: name, url: url, agentID: .init(agent), ranges: DriverCacheRecord.decodeRanges(ranges),
            sites: DriverCacheRecord.decodeList(sites), createdAt: created, updatedAt: updated, certificateSerial: serial, certificateNotAfter: notAfter)
    }

    /// The caches whose agent is not revoked, for the planning snapshot.
    static func activeDriverCaches(_ connection: PostgresConnection, _ logger: Logger) async throws -> [DriverCacheRoute] {
        let columns = Self.driverCacheColumns.split(separator: ",").map { "c." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
        return try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(columns) FROM driver_caches c JOIN agents a ON a.id = c.agent_id WHERE a.revoked_at IS NULL ORDER BY c.name"),
            logger: logger
        ).collect().map { try Self.driverCacheRecord($0).route }
    }

    /// A cache's plans change with its agent's revocation: bump when `agentID` runs one.
    static func bumpIfCache(agentID: String, _ connection: PostgresConnection, _ logger: Logger) async throws {
        let rows = try await connection.query("SELECT 1 FROM driver_caches WHERE agent_id = \(agentID)", logger: logger).collect()
        if !rows.isEmpty { try await Self.bumpGeneration(connection, logger) }
    }

    private static func requireAgent(_ agentID: AgentID, _ connection: PostgresConnection, _ logger: Logger) async throws {
        let rows = try await connection.query("SELECT 1 FROM agents WHERE id = \(agentID.rawValue)", logger: logger).collect()
        guard !rows.isEmpty else { throw ServerError.invalidField("agent_id \(agentID) does not name an enrolled agent") }
    }

    public func createDriverCache(_ cache: DriverCacheRecord, audit: AuditEntry) async throws {
        let logger = self.logger
        try await self.transaction { connection in
            try await Self.requireAgent(cache.agentID, connection, logger)
            let ranges = DriverCacheRecord.encodeList(cache.ranges.map(\.description))
            let sites = DriverCacheRecord.encodeList(cache.sites)
            try await connection.query(
                """
                INSERT INTO driver_caches (id, name, url, agent_id, ranges, sites, created_at, updated_at, certificate_serial, certificate_not_after)
                VALUES (\(cache.id.rawValue), \(cache.name), \(cache.url), \(cache.agentID.rawValue), \(ranges), \(sites), \(cache.createdAt), \(cache.updatedAt), NULL, NULL)
                """, logger: logger)
            try await Self.bumpGeneration(connection, logger)
            try await Self.audit(audit, connection, logger)
        }
    }

    public func driverCaches() async throws -> [DriverCacheRecord] {
        let logger = self.logger
        return try await self.transaction { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(Self.driverCacheColumns) FROM driver_caches ORDER BY name"), logger: logger)
                .collect().map(Self.driverCacheRecord)
        }
    }

    public func driverCache(agentID: AgentID) async throws -> DriverCacheRecord? {
        let logger = self.logger
        return try await self.transaction { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT \(Self.driverCacheColumns) FROM driver_caches WHERE agent_id = $1", binds: Self.binds(agentID.rawValue)),
                logger: logger
            ).collect().first.map(Self.driverCacheRecord)
        }
    }

    public func updateDriverCache(_ cache: DriverCacheRecord, audit: AuditEntry) async throws -> Bool {
        let logger = self.logger
        return try await self.transaction { connection in
            try await Self.requireAgent(cache.agentID, connection, logger)
            let ranges = DriverCacheRecord.encodeList(cache.ranges.map(\.description))
            let sites = DriverCacheRecord.encodeList(cache.sites)
            let updated = try await connection.query(
                """
                UPDATE driver_caches SET name = \(cache.name), url = \(cache.url), agent_id = \(cache.agentID.rawValue), ranges = \(ranges),
                    sites = \(sites), updated_at = \(cache.updatedAt)
                WHERE id = \(cache.id.rawValue) RETURNING id
                """, logger: logger).collect()
            guard !updated.isEmpty else { return false }
            try await Self.bumpGeneration(connection, logger)
            try await Self.audit(audit, connection, logger)
            return true
        }
    }

    public func deleteDriverCache(id: DriverCacheID, audit: AuditEntry) async throws -> Bool {
        let logger = self.logger
        return try await self.transaction { connection in
            let deleted = try await connection.query("DELETE FROM driver_caches WHERE id = \(id.rawValue) RETURNING id", logger: logger).collect()
            guard !deleted.isEmpty else { return false }
            try await Self.bumpGeneration(connection, logger)
            try await Self.audit(audit, connection, logger)
            return true
        }
    }

    public func recordDriverCacheCertificate(id: DriverCacheID, serial: String, notAfter: Date, audit: AuditEntry) async throws -> Bool {
        let logger = self.logger
        return try await self.transaction { connection in
            let updated = try await connection.query(
                "UPDATE driver_caches SET certificate_serial = \(serial), certificate_not_after = \(notAfter) WHERE id = \(id.rawValue) RETURNING id",
                logger: logger).collect()
            guard !updated.isEmpty else { return false }
            try await Self.audit(audit, connection, logger)
            return true
        }
    }
}
