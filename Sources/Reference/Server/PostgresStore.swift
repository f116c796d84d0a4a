import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOSSL
import PostgresNIO
import PrintplaneCore
import ServiceLifecycle

/// The ``Store`` for several server instances behind a load balancer: PostgreSQL through
/// PostgresNIO (DESIGN.md §1, "past one machine").
///
/// It is also a `Service`: ``run()`` runs the connection pool and applies the migrations.
/// Put it **before** the server in the `ServiceGroup` (``PrintplaneServer/supportingServices``),
/// so that on shutdown the server drains its in-flight requests (job ingest included) while
/// the database is still there. Calls made before the migrations are applied wait for them.
///
/// The same guarantees as ``SQLiteStore``, by row locks instead of SQLite's single writer:
/// a token row is locked (`FOR UPDATE`) for the length of an enrollment, so "a max-uses-1 token
/// enrolls exactly one agent" holds across instances; the configuration generation is one
/// row every mutation updates in its transaction; jobs are inserted with
/// `ON CONFLICT (job_id) DO NOTHING`. A database that cannot be reached answers
/// ``ServerError/overloaded(retryAfter:)`` (503): agents keep their records and retry.
public final class PostgresStore: Store, Service {
    let client: PostgresClient
    let settings: DatabaseLocation.PostgresSettings
    let logger: Logger
    let migrated = ReadyGate()
    /// How long ``run()`` keeps trying to reach the database before it gives up.
    private let startupTimeout: Duration
    /// How long one call waits for the database before it answers 503.
    let operationTimeout: Duration

    public init(
        settings: DatabaseLocation.PostgresSettings, logger: Logger, maximumConnections: Int = 20,
        startupTimeout: Duration = .seconds(30), operationTimeout: Duration = .seconds(10)
    ) throws {
        self.settings = settings
        self.logger = logger
        self.startupTimeout = startupTimeout
        self.operationTimeout = operationTimeout
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: try Self.tls(settings))
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(10)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    private static func tls(_ settings: DatabaseLocation.PostgresSettings) throws -> PostgresClient.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch settings.tlsMode {
        case .disable:
            return .disable
        case .prefer:
            tls.certificateVerification = .none
            return .prefer(tls)
        case .require:
            tls.certificateVerification = .none
            return .require(tls)
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            if let path = settings.rootCertificatePath {
                do {
                    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
                } catch {
                    throw ServerError.invalidConfiguration("--database sslrootcert \(path) is not a readable PEM file: \(error)")
                }
            }
            return .require(tls)
        }
    }

    /// Runs the pool, applies the migrations, then serves until graceful shutdown.
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            do {
                try await self.migrateWithinTimeout()
                self.migrated.open(failure: nil)
                self.logger.notice("database ready", metadata: ["printplane.database": "\(self.settings)"])
            } catch {
                let failure = ServerError.invalidConfiguration("cannot use the database \(self.settings): \(Self.explain(error))")
                self.migrated.open(failure: failure)
                throw failure
            }
        }
    }

    private func migrateWithinTimeout() async throws {
        let timeout = self.startupTimeout
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.migrate() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ServerError.invalidConfiguration("no answer within \(timeout)")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// A readable sentence for a PostgresNIO error (its `description` hides the server's message).
    static func explain(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }

    // MARK: Transactions

    /// Runs `body` in one transaction; maps constraint violations to 409 and an unreachable
    /// database to 503. A database that does not answer within `timeout` (the pool waits a
    /// minute before it gives up on a dead server) is unreachable too, so an agent hears 503
    /// and backs off instead of hanging.
    func transaction<T: Sendable>(timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await self.migrated.wait()
        let timeout = timeout ?? self.operationTimeout
        let client = self.client
        let logger = self.logger
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await client.withTransaction(logger: logger) { connection in try await body(connection) } }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    logger.warning("database did not answer in time", metadata: ["printplane.timeout": "\(timeout)"])
                    throw ServerError.overloaded(retryAfter: 5)
                }
                return value
            }
        } catch {
            throw self.translate(error)
        }
    }

    /// Runs `body` in one repeatable-read, read-only transaction: one consistent snapshot.
    func snapshot<T: Sendable>(timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await self.transaction(timeout: timeout) { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            return try await body(connection)
        }
    }

    private func translate(_ error: any Error) -> any Error {
        // withTransaction wraps what failed: the body's error, or BEGIN's, COMMIT's or ROLLBACK's.
        if let wrapped = error as? PostgresTransactionError {
            if let inner = wrapped.closureError ?? wrapped.beginError ?? wrapped.commitError ?? wrapped.rollbackError {
                return self.translate(inner)
            }
        }
        if error is ServerError || error is CancellationError { return error }
        guard let error = error as? PSQLError else {
            self.logger.error("database call failed", metadata: ["printplane.error": "\(error)"])
            return ServerError.overloaded(retryAfter: 5)
        }
        if let state = error.serverInfo?[.sqlState] {
            switch state {
            case "23505", "23503":
                return ServerError.conflict("That conflicts with an existing record (\(error.serverInfo?[.message] ?? state)).")
            case "40001", "40P01", "57P01", "57P02", "57P03":
                return ServerError.overloaded(retryAfter: 2)
            default:
                if state.hasPrefix("08") || state.hasPrefix("53") { return ServerError.overloaded(retryAfter: 5) }
                self.logger.error("database call failed", metadata: ["printplane.error": "\(Self.explain(error))"])
                return ServerError.internalError
            }
        }
        self.logger.warning("database unreachable", metadata: ["printplane.error": "\(Self.explain(error))"])
        return ServerError.overloaded(retryAfter: 5)
    }

    static func audit(_ entry: AuditEntry, _ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.query(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (\(entry.at), \(entry.actor), \(entry.action), \(entry.target), \(entry.detail))",
            logger: logger)
    }

    static func bumpGeneration(_ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.query("UPDATE config_state SET generation = generation + 1 WHERE id = 1", logger: logger)
    }

    /// Whether a row with `id` exists in `table` (a constant table name, never user input).
    private static func exists(_ table: StaticString, id: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> Bool {
        var binds = PostgresBindings()
        binds.append(id)
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT 1 FROM \(table) WHERE id = $1", binds: binds), logger: logger).collect()
        return !rows.isEmpty
    }

    // MARK: Enrollment tokens

    static let tokenColumns = "id, token_hash, label, created_at, expires_at, max_uses, uses, revoked_at"

    private static func tokenRecord(_ row: PostgresRow) throws -> EnrollmentTokenRecord {
        let (id, hash, label, created, expires, maxUses, uses, revoked) = try row.decode((String, String, String?, Date, Date?, Int?, Int, Date?).self)
        return EnrollmentTokenRecord(id: .init(id), tokenHash: hash, label: label, createdAt: created, expiresAt: expires, maxUses: maxUses, uses: uses, revokedAt: revoked)
    }

    public func createEnrollmentToken(_ token: EnrollmentTokenRecord, audit: AuditEntry) async throws {
        let logger = self.logger
        try await self.transaction { connection in
            try await connection.query(
                """
                INSERT INTO enrollment_tokens (id, token_hash, label, created_at, expires_at, max_uses, uses, revoked_at)
                VALUES (\(token.id.rawValue), \(token.tokenHash), \(token.label), \(token.createdAt), \(token.expiresAt), \(token.maxUses), 0, NULL)
                """, logger: logger)
            try await Self.audit(audit, connection, logger)
        }
    }

    public func enrollmentTokens() async throws -> [EnrollmentTokenRecord] {
        let logger = self.logger
        return try await self.transaction { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(Self.tokenColumns) FROM enrollment_tokens ORDER BY created_at, id"), logger: logger)
                .collect().map(Self.tokenRecord)
        }
    }

    public func revokeEnrollmentToken(id: EnrollmentTokenID, at: Date, audit: AuditEntry) async throws -> Bool {
        let logger = self.logger
        return try await self.transaction { connection in
            let updated = try await connection.query(
                "UPDATE enrollment_tokens SET revoked_at = COALESCE(revoked_at, \(at)) WHERE id = \(id.rawValue) RETURNING id", logger: logger).collect()
            guard !updated.isEmpty else { return false }
            try await Self.audit(audit, connection, logger)
            return true
        }
    }

    // MARK: Agents

    public func enroll(tokenHash: String, request: EnrollRequest, credentialHash: String, at now: Date) async throws -> Result<AgentRecord, TokenRefusal> {
        let logger = self.logger
        return try await self.transaction { connection in
            // The row lock serialises every enrollment with this token, on every instance.
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT \(Self.tokenColumns) FROM enrollment_tokens WHERE token_hash = $1 FOR UPDATE", binds: Self.binds(tokenHash)),
                logger: logger).collect()
            guard let row = rows.first else { return .failure(.tokenUnknown) }
            let token = try Self.tokenRecord(row)
            guard SecretToken.constantTimeEquals(Array(token.tokenHash.utf8), Array(tokenHash.utf8)) else { return .failure(.tokenUnknown) }
            if let refusal = token.refusal(at: now) { return .failure(refusal) }
            try await connection.query("UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = \(token.id.rawValue)", logger: logger)

            // Same machine ID → same agent, re-enrolled; one statement, so two instances
            // enrolling one machine at once cannot both insert it.
            let candidate = AgentID.random().rawValue
            let upserted = try await connection.query(
                """
                INSERT INTO agents (id, machine_id, hostname, os, agent_version, enrolled_at, token_id, revoked_at)
                VALUES (\(candidate), \(request.machineID), \(request.hostname), \(request.os), \(request.agentVersion), \(now), \(token.id.rawValue), NULL)
                ON CONFLICT (machine_id) DO UPDATE SET hostname = EXCLUDED.hostname, os = EXCLUDED.os,
                    agent_version = EXCLUDED.agent_version, enrolled_at = EXCLUDED.enrolled_at,
                    token_id = EXCLUDED.token_id, revoked_at = NULL
                RETURNING id
                """, logger: logger).collect()
            guard let agentRow = upserted.first else { throw ServerError.internalError }
            let agentID = AgentID(try agentRow.decode(String.self))
            try await Self.bumpIfCache(agentID: agentID.rawValue, connection, logger)
            try await connection.query(
                "UPDATE device_credentials SET revoked_at = \(now) WHERE agent_id = \(agentID.rawValue) AND revoked_at IS NULL", logger: logger)
            try await connection.query(
                "INSERT INTO device_credentials (credential_hash, agent_id, created_at, revoked_at) VALUES (\(credentialHash), \(agentID.rawValue), \(now), NULL)",
                logger: logger)
            return .success(AgentRecord(
                id: agentID, machineID: request.machineID, hostname: request.hostname, os: request.os,
                agentVersion: request.agentVersion, enrolledAt: now, revokedAt: nil))
        }
    }

    public func authenticateAgent(credentialHash: String) async throws -> AgentAuthentication? {
        let logger = self.logger
        return try await self.transaction { connection in
            let rows = try await connection.query(
                """
                SELECT c.credential_hash, c.agent_id, c.revoked_at IS NOT NULL, a.hostname,
                       (SELECT generation FROM config_state WHERE id = 1),
                       EXISTS (SELECT 1 FROM held_jobs h WHERE h.agent_id = c.agent_id
                               AND (h.state = 'released' OR (h.state = 'cancelled' AND NOT h.settled)))
                FROM device_credentials c JOIN agents a ON a.id = c.agent_id
                WHERE c.credential_hash = \(credentialHash)
                """, logger: logger).collect()
            guard let row = rows.first else { return nil }
            let (stored, agentID, revoked, hostname, generation, pending) = try row.decode((String, String, Bool, String, Int64, Bool).self)
            guard SecretToken.constantTimeEquals(Array(stored.utf8), Array(credentialHash.utf8)) else { return nil }
            return AgentAuthentication(agentID: .init(agentID), hostname: hostname, credentialRevoked: revoked, generation: generation, hasPendingReleases: pending)
        }
    }

    public func agents() async throws -> [AgentRecord] {
        let logger = self.logger
        return try await self.transaction { connection in
            try await connection.query(
                "SELECT id, machine_id, hostname, os, agent_version, enrolled_at, revoked_at FROM agents ORDER BY hostname, id", logger: logger
            ).collect().map { row in
                let (id, machine, hostname, os, version, enrolled, revoked) = try row.decode((String, String, String, String, String, Date, Date?).self)
                return AgentRecord(id: .init(id), machineID: machine, hostname: hostname, os: os, agentVersion: version, enrolledAt: enrolled, revokedAt: revoked)
            }
        }
    }

    public func revokeAgent(id: AgentID, at: Date, audit: AuditEntry) async throws -> Bool {
        let logger = self.logger
        return try await self.transaction { connection in
            let updated = try await connection.query(
                "UPDATE agents SET revoked_at = COALESCE(revoked_at, \(at)) WHERE id = \(id.rawValue) RETURNING id", logger: logger).collect()
            guard !updated.isEmpty else { return false }
            try await connection.query(
                "UPDATE device_credentials SET revoked_at = \(at) WHERE agent_id = \(id.rawValue) AND revoked_at IS NULL", logger: logger)
            try await Self.bumpIfCache(agentID: id.rawValue, connection, logger)
            try await Self.audit(audit, connection, logger)
            return true
        }
    }

    // MARK: Configuration

    static let printerColumns = "id, name, address, protocol, port, queue, location, site, driver_id"

    private static func printerRecord(_ row: PostgresRow) throws -> PrinterRecord {
        let (id, name, address, proto, port, queue, location, site, driver) = try row.decode((String, String, String, String, Int, String?, String?, String?, String?).self)
        return PrinterRecord(
            id: .init(id), name: name, address: address, protocol: PrinterProtocol(rawValue: proto) ?? .raw, port: port,
            queue: queue, location: location, site: site, driverID: driver.map { DriverID($0) })
    }

    public func createPrinter(_ printer: PrinterRecord, audit: AuditEntry) async throws {
        let logger = self.logger
        try await self.transaction { connection in
            if let driverID = printer.driverID, try await !Self.exists("drivers", id: driverID.rawValue, connection, logger) {
                throw ServerError.invalidField("driver_id \(driverID) does not name a driver")
            }
            try await connection.query(
                """
                INSERT INTO printers (id, name, address, protocol, port, queue, location, site, driver_id)
                VALUES (\(printer.id.rawValue), \(printer.name), \(printer.address), \(printer.protocol.rawValue), \(printer.port),
                        \(printer.queue), \(printer.location), \(printer.site), \(printer.driverID?.rawValue))
                """, logger: logger)
            try await Self.bumpGeneration(connection, logger)
            try await Self.audit(audit, connection, logger)
        }
    }

    public func printers() async throws -> [PrinterRecord] {
        let logger = self.logger
        return try await self.transaction { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(Self.printerColumns) FROM printers ORDER BY name"), logger: logger).collect().map(Self.printerRecord)
        }
    }

    public func deletePrinter(id: PrinterID, audit: AuditEntry) async throws -> Bool {
        let logger = self.logger
        return try await self.transaction { connection in
            let deleted = try await connection.query("DELETE FROM printers WHERE id = \(id.rawValue) RETURNING id", logger: logger).collect()
            guard !deleted.isEmpty else { return false }
            try await Self.bumpGeneration(connection, logger)
            try await Self.audit(audit, connection, logger)
            return true
        }
    }

    public func setPrinterDriver(id: PrinterID, driverID: DriverID?, audit: AuditEntry) async throws -> Bool {
        let logger = self.logger
        return try await self.transaction { connection in
            if let driverID, try await !Self.exists("drivers", id: driverID.rawValue, connection, logger) {
                throw ServerError.invalidField("driver_id \(driverID) does not name a driver")
            }
            let updated = try await connection.query(
                "UPDATE printers SET driver_id = \(driverID?.rawValue) WHERE id = \(id.rawValue) RETURNING id", logger: logger).collect()
            guard !updated.isEmpty else { return false }
            try await Self.bumpGeneration(connection, logger)
            try await Self.audit(audit, connection, logger)
            return true
        }
    }

    private static func profileRecord(_ row: PostgresRow) throws -> ProfileRecord {
        let (id, name, duplex, color, paper, tray, copies) = try row.decode((String, String, String, Bool, String, String?, Int).self)
        return ProfileRecord(
            id: .init(id), name: name,
            profile: PrintProfile(duplex: PrintProfile.Duplex(rawValue: duplex) ?? .simplex, color: color, paper: paper, tray: tray, copies: copies))
    }

    public func createProfile(_ profile: ProfileRecord, audit: AuditEntry) async throws {
        let logger = self.logger
        try await self.transaction { connection in
            let p = profile.profile
            try await connection.query(
                """
                INSERT INTO profiles (id, name, duplex, color, paper, tray, copies)
                VALUES (\(profile.id.rawValue), \(profile.name), \(p.duplex.rawValue), \(p.color), \(p.paper), \(p.tray), \(p.copies))
                """, logger: logger)
            try await Self.bumpGeneration(connection, logger)
            try await Self.audit(audit, connection, logger)
        }
    }

    public func profiles() async throws -> [ProfileRecord] {
        let logger = self.logger
        return try await self.transaction { connection in
            try await connection.query("SELECT id, name, duplex, color, paper, tray, copies FROM profiles ORDER BY name", logger: logger).collect().map(Self.profileRecord)
        }
    }

    public func deleteProfile(id: ProfileID, audit: AuditEntry) async throws -> Bool {
        let logger = self.logger
        return try await self.transaction { connection in
            let used = try await connection.query("SELECT 1 FROM assignments WHERE profile_id = \(id.rawValue) LIMIT 1", logger: logger).collect()
            if !used.isEmpty { throw ServerError.conflict("The profile is used by an assignment; delete the assignment first.") }
            let deleted = try await connection.query("DELETE FROM profiles WHERE id = \(id.rawValue) RETURNING id", logger: logger).collect()
            guard !deleted.isEmpty else { return false }
            try await Self.bumpGeneration(connection, logger)
            try await Self.audit(audit, connection, logger)
            return true
        }
    }

    private static func assignment(_ row: PostgresRow) throws -> Assignment? {
        let (id, printer, profile, kindText, value) = try row.decode((String, String, String?, String, String?).self)
        guard let kind = AssignmentTarget.Kind(rawValue: kindText), case .success(let target) = AssignmentTarget.make(kind: kind, value: value) else { return nil }
        return Assignment(id: .init(id), printerID: .init(printer), profileID: profile.map { ProfileID($0) }, target: target)
    }

    public func createAssignment(_ assignment: Assignment, audit: AuditEntry) async throws {
        let logger = self.logger
        try await self.transaction { connection in
            guard try await Self.exists("printers", id: assignment.printerID.rawValue, connection, logger) else {
                throw ServerError.invalidField("printer_id \(assignment.printerID) does not name a printer")
            }
            if let profileID = assignment.profileID, try await !Self.exists("profiles", id: profileID.rawValue, connection, logger) {
                throw ServerError.invalidField("profile_id \(profileID) does not name a profile")
            }
            try await connection.query(
                """
                INSERT INTO assignments (id, printer_id, profile_id, target_kind, target_value)
                VALUES (\(assignment.id.rawValue), \(assignment.printerID.rawValue), \(assignment.profileID?.rawValue), \(assignment.target.kind.rawValue), \(assignment.target.value))
                """, logger: logger)
            try await Self.bumpGeneration(connection, logger)
            try await Self.audit(audit, connection, logger)
        }
    }

    public func assignments() async throws -> [Assignment] {
        let logger = self.logger
        return try await self.transaction { connection in
            try await connection.query("SELECT id, printer_id, profile_id, target_kind, target_value FROM assignments ORDER BY id", logger: logger)
                .collect().compactMap(Self.assignment)
        }
    }

    public func deleteAssignment(id: AssignmentID, audit: AuditEntry) async throws -> Bool {
        let logger = self.logger
        return try await self.transaction { connection in
            let deleted = try await connection.query("DELETE FROM assignments WHERE id = \(id.rawValue) RETURNING id", logger: logger).collect()
            guard !deleted.isEmpty else { return false }
            try await Self.bumpGeneration(connection, logger)
            try await Self.audit(audit, connection, logger)
            return true
        }
    }

    static let driverColumns = "id, name, version, os, sha256, size, signature, created_at"

    private static func driverRecord(_ row: PostgresRow) throws -> DriverRecord {
        let (id, name, version, os, sha256, size, signature, created) = try row.decode((String, String, String, String, String, Int64, String, Date).self)
        return DriverRecord(
            id: .init(id),
            manifest: SignedDriverManifest(manifest: DriverManifest(name: name, version: version, os: os, sha256: sha256, size: size), signature: signature),
            createdAt: created)
    }

    public func createDriver(_ driver: DriverRecord, audit: AuditEntry) async throws {
        let logger = self.logger
        try await self.transaction { connection in
            let m = driver.manifest.manifest
            try await connection.query(
                """
                INSERT INTO drivers (id, name, version, os, sha256, size, signature, created_at)
                VALUES (\(driver.id.rawValue), \(m.name), \(m.version), \(m.os), \(m.sha256), \(m.size), \(driver.manifest.signature), \(driver.createdAt))
                """, logger: logger)
            try await Self.bumpGeneration(connection, logger)
            try await Self.audit(audit, connection, logger)
        }
    }

    public func drivers() async throws -> [DriverRecord] {
        let logger = self.logger
        return try await self.transaction { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(Self.driverColumns) FROM drivers ORDER BY name, version"), logger: logger).collect().map(Self.driverRecord)
        }
    }

    public func driver(sha256: String) async throws -> DriverRecord? {
        let logger = self.logger
        return try await self.transaction { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT \(Self.driverColumns) FROM drivers WHERE sha256 = $1 ORDER BY created_at LIMIT 1", binds: Self.binds(sha256)),
                logger: logger
            ).collect().first.map(Self.driverRecord)
        }
    }

    public func planningSnapshot() async throws -> PlanningSnapshot {
        let logger = self.logger
        return try await self.snapshot { connection in
            let generation = try await connection.query("SELECT generation FROM config_state WHERE id = 1", logger: logger).collect().first?.decode(Int64.self) ?? 0
            let printers = try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(Self.printerColumns) FROM printers"), logger: logger).collect().map(Self.printerRecord)
            let profiles = try await connection.query("SELECT id, name, duplex, color, paper, tray, copies FROM profiles", logger: logger).collect().map(Self.profileRecord)
            let drivers = try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(Self.driverColumns) FROM drivers"), logger: logger).collect().map(Self.driverRecord)
            let assignments = try await connection.query("SELECT id, printer_id, profile_id, target_kind, target_value FROM assignments", logger: logger)
                .collect().compactMap(Self.assignment)
            return PlanningSnapshot(
                generation: generation,
                printers: Dictionary(uniqueKeysWithValues: printers.map { ($0.id, $0) }),
                profiles: Dictionary(uniqueKeysWithValues: profiles.map { ($0.id, $0) }),
                drivers: Dictionary(uniqueKeysWithValues: drivers.map { ($0.id, $0) }),
                assignments: assignments,
                directory: try await Self.directory(connection, logger),
                driverCaches: try await Self.activeDriverCaches(connection, logger))
        }
    }

    // MARK: Directory

    static let directoryColumns = """
        url, start_tls, ca_pem, base_dn, bind_dn, bind_password_sealed, key_id, flavour, cache_ttl_seconds, admin_group_dn, revision, updated_at
        """

    private static func directory(_ connection: PostgresConnection, _ logger: Logger) async throws -> StoredDirectorySettings? {
        guard let row = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(Self.directoryColumns) FROM directory_settings WHERE id = 1"), logger: logger
        ).collect().first else { return nil }
        let (url, startTLS, caPEM, baseDN, bindDN, sealed, keyID, flavour, ttl, adminGroup, revision, updated) =
            try row.decode((String, Bool, String?, String, String, ByteBuffer, String, String, Int, String?, Int64, Date).self)
        return StoredDirectorySettings(
            url: url, startTLS: startTLS, caPEM: caPEM, baseDN: baseDN, bindDN: bindDN, sealedBindPassword: Array(sealed.readableBytesView),
            keyID: keyID, flavour: flavour, cacheTTLSeconds: ttl, adminGroupDN: adminGroup, revision: revision, updatedAt: updated)
    }

    private static func generation(_ connection: PostgresConnection, _ logger: Logger) async throws -> Int64 {
        try await connection.query("SELECT generation FROM config_state WHERE id = 1", logger: logger).collect().first?.decode(Int64.self) ?? 0
    }

    public func directorySettings() async throws -> (settings: StoredDirectorySettings?, generation: Int64) {
        let logger = self.logger
        return try await self.snapshot { connection in
            (try await Self.directory(connection, logger), try await Self.generation(connection, logger))
        }
    }

    public func saveDirectorySettings(_ settings: StoredDirectorySettings, audit: AuditEntry) async throws -> StoredDirectorySettings {
        let logger = self.logger
        return try await self.transaction { connection in
            try await Self.bumpGeneration(connection, logger)
            var saved = settings
            saved.revision = try await Self.generation(connection, logger)
            let sealed = ByteBuffer(bytes: saved.sealedBindPassword)
            try await connection.query(
                """
                INSERT INTO directory_settings
                    (id, url, start_tls, ca_pem, base_dn, bind_dn, bind_password_sealed, key_id, flavour, cache_ttl_seconds, admin_group_dn, revision, updated_at)
                VALUES (1, \(saved.url), \(saved.startTLS), \(saved.caPEM), \(saved.baseDN), \(saved.bindDN), \(sealed), \(saved.keyID),
                        \(saved.flavour), \(saved.cacheTTLSeconds), \(saved.adminGroupDN), \(saved.revision), \(saved.updatedAt))
                ON CONFLICT (id) DO UPDATE SET
                    url = EXCLUDED.url, start_tls = EXCLUDED.start_tls, ca_pem = EXCLUDED.ca_pem, base_dn = EXCLUDED.base_dn,
                    bind_dn = EXCLUDED.bind_dn, bind_password_sealed = EXCLUDED.bind_password_sealed, key_id = EXCLUDED.key_id,
                    flavour = EXCLUDED.flavour, cache_ttl_seconds = EXCLUDED.cache_ttl_seconds, admin_group_dn = EXCLUDED.admin_group_dn,
                    revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at
                """, logger: logger)
            try await Self.audit(audit, connection, logger)
            return saved
        }
    }

    public func deleteDirectorySettings(audit: AuditEntry) async throws -> Int64? {
        let logger = self.logger
        return try await self.transaction { connection in
            let deleted = try await connection.query("DELETE FROM directory_settings WHERE id = 1 RETURNING id", logger: logger).collect()
            guard !deleted.isEmpty else { return nil }
            try await Self.bumpGeneration(connection, logger)
            try await Self.audit(audit, connection, logger)
            return try await Self.generation(connection, logger)
        }
    }

    // MARK: Jobs

    public func recordJobs(_ jobs: [JobRecord], agentID: AgentID, receivedAt: Date) async throws -> JobIngestResult {
        guard !jobs.isEmpty else { return JobIngestResult(accepted: [], duplicates: []) }
        let logger = self.logger
        // One statement for the whole batch: the columns travel as arrays and unnest() turns
        // them back into rows. Times go as epoch seconds (PostgresNIO has no date arrays).
        let ids = jobs.map(\.jobID.rawValue)
        let users = jobs.map(\.user)
        let computers = jobs.map(\.computer)
        let printers = jobs.map(\.printer)
        let names = jobs.map(\.documentName)
        let pages = jobs.map(\.pages)
        let copies = jobs.map(\.copies)
        let colors = jobs.map(\.color)
        let duplexes = jobs.map(\.duplex)
        let bytes = jobs.map { Int($0.bytes) }
        let protocols = jobs.map(\.protocol.rawValue)
        let submitted = jobs.map(\.submittedAt.timeIntervalSince1970)
        let completed = jobs.map(\.completedAt.timeIntervalSince1970)
        let outcomes = jobs.map(\.outcome.rawValue)
        let failures = jobs.map { $0.failure ?? "" }
        let inserted: Set<String> = try await self.transaction { connection in
            let rows = try await connection.query(
                """
                INSERT INTO jobs (job_id, agent_id, user_name, computer, printer, document_name, pages, copies, color, duplex,
                                  bytes, protocol, submitted_at, completed_at, outcome, received_at)
                SELECT j.job_id, \(agentID.rawValue), j.user_name, j.computer, j.printer, j.document_name, j.pages, j.copies, j.color,
                       j.duplex, j.bytes, j.protocol, to_timestamp(j.submitted_at), to_timestamp(j.completed_at), j.outcome, \(receivedAt)
                FROM unnest(\(ids), \(users), \(computers), \(printers), \(names), \(pages), \(copies), \(colors), \(duplexes),
                            \(bytes), \(protocols), \(submitted), \(completed), \(outcomes))
                     AS j(job_id, user_name, computer, printer, document_name, pages, copies, color, duplex,
                          bytes, protocol, submitted_at, completed_at, outcome)
                ON CONFLICT (job_id) DO NOTHING
                RETURNING job_id
                """, logger: logger).collect()
            let inserted = try rows.map { try $0.decode(String.self) }
            // A held job takes the state of its newly stored record, in the same transaction.
            try await connection.query(
                """
                UPDATE held_jobs h SET state = j.outcome, finished_at = to_timestamp(j.completed_at), failure = NULLIF(j.failure, ''), settled = true
                FROM unnest(\(ids), \(outcomes), \(completed), \(failures)) AS j(job_id, outcome, completed_at, failure)
                WHERE h.job_id = j.job_id AND h.job_id = ANY(\(inserted))
                """, logger: logger)
            return Set(inserted)
        }
        // A batch that names one job twice: the first is accepted, the second is a duplicate,
        // as with SQLite.
        var unclaimed = inserted
        var result = JobIngestResult(accepted: [], duplicates: [])
        for job in jobs {
            if unclaimed.remove(job.jobID.rawValue) != nil { result.accepted.append(job.jobID) } else { result.duplicates.append(job.jobID) }
        }
        return result
    }

    private static func whereClause(_ filter: JobFilter, _ binds: inout PostgresBindings) -> String {
        var clauses = [String]()
        func add(_ sql: String, _ value: some PostgresNonThrowingEncodable & Sendable) {
            binds.append(value)
            clauses.append(sql.replacingOccurrences(of: "?", with: "$\(binds.count)"))
        }
        if let from = filter.from { add("submitted_at >= ?", from) }
        if let to = filter.to { add("submitted_at < ?", to) }
        if let user = filter.user { add("user_name = ?", user) }
        if let printer = filter.printer { add("printer = ?", printer) }
        if let computer = filter.computer { add("computer = ?", computer) }
        return clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
    }

    public func jobs(matching filter: JobFilter, limit: Int, offset: Int) async throws -> [JobRecord] {
        let logger = self.logger
        var binds = PostgresBindings()
        let clause = Self.whereClause(filter, &binds)
        binds.append(limit)
        binds.append(offset)
        let sql = """
            SELECT job_id, user_name, computer, printer, document_name, pages, copies, color, duplex, bytes, protocol,
                   submitted_at, completed_at, outcome
            FROM jobs \(clause) ORDER BY submitted_at, job_id LIMIT $\(binds.count - 1) OFFSET $\(binds.count)
            """
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        return try await self.transaction { connection in
            try await connection.query(query, logger: logger).collect().map { row in
                let (id, user, computer, printer, name, pages, copies, color, duplex, bytes, proto, submitted, completed, outcome) =
                    try row.decode((String, String, String, String, String, Int, Int, Bool, Bool, Int64, String, Date, Date, String).self)
                return JobRecord(
                    jobID: .init(id), user: user, computer: computer, printer: printer, documentName: name, pages: pages, copies: copies,
                    color: color, duplex: duplex, bytes: bytes, protocol: PrinterProtocol(rawValue: proto) ?? .raw,
                    submittedAt: submitted, completedAt: completed, outcome: JobRecord.Outcome(rawValue: outcome) ?? .printed)
            }
        }
    }

    public func jobTotals(matching filter: JobFilter) async throws -> JobTotals {
        let logger = self.logger
        var binds = PostgresBindings()
        let clause = Self.whereClause(filter, &binds)
        let query = PostgresQuery(unsafeSQL: """
            SELECT COUNT(*),
                   COALESCE(SUM(pages * copies) FILTER (WHERE outcome = 'printed'), 0),
                   COALESCE(SUM(pages * copies) FILTER (WHERE outcome = 'printed' AND color), 0)
            FROM jobs \(clause)
            """, binds: binds)
        return try await self.transaction { connection in
            let row = try await connection.query(query, logger: logger).collect().first
            let (jobs, pages, colorPages) = try row?.decode((Int, Int, Int).self) ?? (0, 0, 0)
            return JobTotals(jobs: jobs, pages: pages, colorPages: colorPages, colorShare: pages == 0 ? 0 : Double(colorPages) / Double(pages))
        }
    }

    // MARK: Console sessions

    public func createConsoleSession(_ session: ConsoleSessionRecord, replacing: String?, audit: AuditEntry) async throws {
        let logger = self.logger
        try await self.transaction { connection in
            let now = session.createdAt
            try await connection.query(
                "DELETE FROM console_sessions WHERE expires_at <= \(now) OR last_seen_at + idle_seconds * interval '1 second' <= \(now)",
                logger: logger)
            if let replacing { try await connection.query("DELETE FROM console_sessions WHERE id_hash = \(replacing)", logger: logger) }
            try await connection.query(
                """
                INSERT INTO console_sessions (id_hash, user_name, created_at, last_seen_at, expires_at, idle_seconds)
                VALUES (\(session.idHash), \(session.user), \(now), \(session.lastSeenAt), \(session.expiresAt), \(session.idleTimeout))
                """, logger: logger)
            try await Self.audit(audit, connection, logger)
        }
    }

    public func consoleSession(idHash: String) async throws -> ConsoleSessionRecord? {
        let logger = self.logger
        return try await self.transaction { connection in
            guard let row = try await connection.query(
                "SELECT id_hash, user_name, created_at, last_seen_at, expires_at, idle_seconds FROM console_sessions WHERE id_hash = \(idHash)",
                logger: logger
            ).collect().first else { return nil }
            let (stored, user, created, lastSeen, expires, idle) = try row.decode((String, String, Date, Date, Date, Double).self)
            guard SecretToken.constantTimeEquals(Array(stored.utf8), Array(idHash.utf8)) else { return nil }
            return ConsoleSessionRecord(idHash: stored, user: user, createdAt: created, lastSeenAt: lastSeen, expiresAt: expires, idleTimeout: idle)
        }
    }

    public func touchConsoleSession(idHash: String, at: Date) async throws {
        let logger = self.logger
        try await self.transaction { connection in
            try await connection.query(
                "UPDATE console_sessions SET last_seen_at = GREATEST(last_seen_at, \(at)) WHERE id_hash = \(idHash)", logger: logger)
        }
    }

    public func deleteConsoleSession(idHash: String, audit: AuditEntry?) async throws -> Bool {
        let logger = self.logger
        return try await self.transaction { connection in
            let deleted = try await connection.query("DELETE FROM console_sessions WHERE id_hash = \(idHash) RETURNING id_hash", logger: logger).collect()
            guard !deleted.isEmpty else { return false }
            if let audit { try await Self.audit(audit, connection, logger) }
            return true
        }
    }

    // MARK: Audit and health

    public func appendAudit(_ entry: AuditEntry) async throws {
        let logger = self.logger
        try await self.transaction { connection in try await Self.audit(entry, connection, logger) }
    }

    public func auditEntries(limit: Int, offset: Int) async throws -> [AuditRecord] {
        let logger = self.logger
        return try await self.transaction { connection in
            try await connection.query(
                "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT \(limit) OFFSET \(offset)", logger: logger
            ).collect().map { row in
                let (id, at, actor, action, target, detail) = try row.decode((Int64, Date, String, String, String, String).self)
                return AuditRecord(id: id, at: at, actor: actor, action: action, target: target, detail: detail)
            }
        }
    }

    /// A probe answers quickly: 2 s at most, even while the pool is still retrying a dead server.
    public func isReady() async -> Bool {
        guard self.migrated.isOpen else { return false }
        let logger = self.logger
        let answer = try? await self.transaction(timeout: min(self.operationTimeout, .seconds(2))) { connection in
            try await connection.query("SELECT 1", logger: logger).collect().count
        }
        return answer == 1
    }

    static func binds(_ values: String...) -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { binds.append(value) }
        return binds
    }
}

/// Opens once; waiters before that wait, waiters after pass (or fail) at once.
final class ReadyGate: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Void, any Error>])
        case open((any Error)?)
    }

    private let state = NIOLockedValueBox(State.waiting([]))

    var isOpen: Bool {
        self.state.withLockedValue { if case .open(nil) = $0 { return true } else { return false } }
    }

    func open(failure: (any Error)?) {
        let waiters = self.state.withLockedValue { state -> [CheckedContinuation<Void, any Error>] in
            guard case .waiting(let waiters) = state else { return [] }
            state = .open(failure)
            return waiters
        }
        for waiter in waiters {
            if let failure { waiter.resume(throwing: failure) } else { waiter.resume() }
        }
    }

    func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Void, any Error>? = self.state.withLockedValue { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .open(nil):
                    return .success(())
                case .open(let failure?):
                    return .failure(failure)
                }
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }
}
