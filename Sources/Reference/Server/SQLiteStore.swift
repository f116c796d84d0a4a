import Foundation
import GRDB
import PrintplaneCore

/// The embedded ``Store``: SQLite through GRDB, in WAL mode, with versioned migrations.
///
/// Writes are serialised by SQLite, which is what makes "a max-uses-1 token enrolls
/// exactly one agent" hold under concurrency: the check and the increment happen in
/// one write transaction.
public struct SQLiteStore: Store {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database file at `path` in WAL mode and migrates it.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try self.init(writer: pool)
    }

    /// An in-memory store, for tests.
    public static func inMemory() throws -> SQLiteStore {
        try SQLiteStore(writer: DatabaseQueue())
    }

    init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    /// The schema, one registered migration per version; never edit a shipped one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE config_state (id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL);
                INSERT INTO config_state (id, generation) VALUES (1, 1);
                CREATE TABLE enrollment_tokens (
                    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, label TEXT,
                    created_at REAL NOT NULL, expires_at REAL, max_uses INTEGER,
                    uses INTEGER NOT NULL DEFAULT 0, revoked_at REAL);
                CREATE TABLE agents (
                    id TEXT PRIMARY KEY, machine_id TEXT NOT NULL UNIQUE, hostname TEXT NOT NULL,
                    os TEXT NOT NULL, agent_version TEXT NOT NULL, enrolled_at REAL NOT NULL,
                    token_id TEXT NOT NULL, revoked_at REAL);
                CREATE TABLE device_credentials (
                    credential_hash TEXT PRIMARY KEY, agent_id TEXT NOT NULL REFERENCES agents(id),
                    created_at REAL NOT NULL, revoked_at REAL);
                CREATE INDEX device_credentials_agent ON device_credentials(agent_id);
                CREATE TABLE drivers (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, os TEXT NOT NULL,
                    sha256 TEXT NOT NULL, size INTEGER NOT NULL, signature TEXT NOT NULL, created_at REAL NOT NULL,
                    UNIQUE (name, version, os));
                CREATE INDEX drivers_sha256 ON drivers(sha256);
                CREATE TABLE printers (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, address TEXT NOT NULL, protocol TEXT NOT NULL,
                    port INTEGER NOT NULL, queue TEXT, location TEXT, site TEXT, driver_id TEXT REFERENCES drivers(id));
                CREATE TABLE profiles (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, duplex TEXT NOT NULL, color INTEGER NOT NULL,
                    paper TEXT NOT NULL, tray TEXT, copies INTEGER NOT NULL);
                CREATE TABLE assignments (
                    id TEXT PRIMARY KEY, printer_id TEXT NOT NULL REFERENCES printers(id) ON DELETE CASCADE,
                    profile_id TEXT REFERENCES profiles(id), target_kind TEXT NOT NULL, target_value TEXT);
                CREATE TABLE jobs (
                    job_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, user TEXT NOT NULL, computer TEXT NOT NULL,
                    printer TEXT NOT NULL, document_name TEXT NOT NULL, pages INTEGER NOT NULL, copies INTEGER NOT NULL,
                    color INTEGER NOT NULL, duplex INTEGER NOT NULL, bytes INTEGER NOT NULL, protocol TEXT NOT NULL,
                    submitted_at REAL NOT NULL, completed_at REAL NOT NULL, outcome TEXT NOT NULL, received_at REAL NOT NULL);
                CREATE INDEX jobs_submitted ON jobs(submitted_at);
                CREATE INDEX jobs_user ON jobs(user, submitted_at);
                CREATE INDEX jobs_printer ON jobs(printer, submitted_at);
                CREATE INDEX jobs_computer ON jobs(computer, submitted_at);
                CREATE TABLE audit_log (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL,
                    action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
                """)
        }
        migrator.registerMigration("v2-console-sessions") { db in
            // Only the SHA-256 of a session ID is stored: a copy of the database cannot sign anyone in.
            try db.execute(sql: """
                CREATE TABLE console_sessions (
                    id_hash TEXT PRIMARY KEY, user TEXT NOT NULL, created_at REAL NOT NULL,
                    last_seen_at REAL NOT NULL, expires_at REAL NOT NULL, idle_seconds REAL NOT NULL);
                CREATE INDEX console_sessions_expires ON console_sessions(expires_at);
                """)
        }
        // Directory integration (DESIGN.md §4): one row of settings; the bind password only
        // as an AES-GCM box.
        migrator.registerMigration("v2-directory") { db in
            try db.execute(sql: """
                CREATE TABLE directory_settings (
                    id INTEGER PRIMARY KEY CHECK (id = 1), url TEXT NOT NULL, start_tls INTEGER NOT NULL, ca_pem TEXT,
                    base_dn TEXT NOT NULL, bind_dn TEXT NOT NULL, bind_password_sealed BLOB NOT NULL, key_id TEXT NOT NULL,
                    flavour TEXT NOT NULL, cache_ttl_seconds INTEGER NOT NULL, admin_group_dn TEXT,
                    revision INTEGER NOT NULL, updated_at REAL NOT NULL);
                """)
        }
        // Pull printing: held jobs' metadata and their release. Other branches add
        // migrations too; each has its own name, so the order they run in does not matter.
        migrator.registerMigration("v2-held-jobs") { db in
            try db.execute(sql: """
                CREATE TABLE held_jobs (
                    job_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, user TEXT NOT NULL, user_key TEXT NOT NULL,
                    computer TEXT NOT NULL, printer TEXT NOT NULL, document_name TEXT NOT NULL, pages INTEGER NOT NULL,
                    copies INTEGER NOT NULL, color INTEGER NOT NULL, duplex INTEGER NOT NULL, bytes INTEGER NOT NULL,
                    protocol TEXT NOT NULL, held_at REAL NOT NULL, expires_at REAL NOT NULL, received_at REAL NOT NULL,
                    state TEXT NOT NULL, settled INTEGER NOT NULL DEFAULT 0, release_printer TEXT, released_to TEXT,
                    released_at REAL, released_by TEXT, finished_at REAL, failure TEXT);
                CREATE INDEX held_jobs_agent ON held_jobs(agent_id, state);
                CREATE INDEX held_jobs_user ON held_jobs(user_key, held_at);
                CREATE INDEX held_jobs_expiry ON held_jobs(state, expires_at);
                """)
        }
        // LAN driver caches (docs/driver-cache.md): each bound to one enrolled agent, whose
        // revocation takes the cache out of plans. Ranges and sites are JSON arrays.
        migrator.registerMigration("v3-driver-caches") { db in
            try db.execute(sql: """
                CREATE TABLE driver_caches (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, url TEXT NOT NULL,
                    agent_id TEXT NOT NULL UNIQUE REFERENCES agents(id), ranges TEXT NOT NULL, sites TEXT NOT NULL,
                    created_at REAL NOT NULL, updated_at REAL NOT NULL, certificate_serial TEXT, certificate_not_after REAL);
                """)
        }
        return migrator
    }

    // MARK: Helpers

    static func audit(_ entry: AuditEntry, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            arguments: [entry.at.timeIntervalSince1970, entry.actor, entry.action, entry.target, entry.detail])
    }

    private static func bumpGeneration(_ db: Database) throws {
        try db.execute(sql: "UPDATE config_state SET generation = generation + 1 WHERE id = 1")
    }

    static func date(_ value: Double?) -> Date? { value.map { Date(timeIntervalSince1970: $0) } }

    private static func tokenRecord(_ row: Row) -> EnrollmentTokenRecord {
        EnrollmentTokenRecord(
            id: .init(row["id"]), tokenHash: row["token_hash"], label: row["label"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]), expiresAt: date(row["expires_at"]),
            maxUses: row["max_uses"], uses: row["uses"], revokedAt: date(row["revoked_at"]))
    }

    private static func agentRecord(_ row: Row) -> AgentRecord {
        AgentRecord(
            id: .init(row["id"]), machineID: row["machine_id"], hostname: row["hostname"], os: row["os"],
            agentVersion: row["agent_version"], enrolledAt: Date(timeIntervalSince1970: row["enrolled_at"]),
            revokedAt: date(row["revoked_at"]))
    }

    private static func printerRecord(_ row: Row) -> PrinterRecord {
        PrinterRecord(
            id: .init(row["id"]), name: row["name"], address: row["address"],
            protocol: PrinterProtocol(rawValue: row["protocol"]) ?? .raw, port: row["port"], queue: row["queue"],
            location: row["location"], site: row["site"], driverID: (row["driver_id"] as String?).map { DriverID($0) })
    }

    private static func profileRecord(_ row: Row) -> ProfileRecord {
        ProfileRecord(
            id: .init(row["id"]), name: row["name"],
            profile: PrintProfile(
                duplex: PrintProfile.Duplex(rawValue: row["duplex"]) ?? .simplex, color: row["color"],
                paper: row["paper"], tray: row["tray"], copies: row["copies"]))
    }

    private static func driverRecord(_ row: Row) -> DriverRecord {
        DriverRecord(
            id: .init(row["id"]),
            manifest: SignedDriverManifest(
                manifest: DriverManifest(name: row["name"], version: row["version"], os: row["os"], sha256: row["sha256"], size: row["size"]),
                signature: row["signature"]),
            createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }

    private static func assignment(_ row: Row) -> Assignment? {
        guard let kind = AssignmentTarget.Kind(rawValue: row["target_kind"]),
              case .success(let target) = AssignmentTarget.make(kind: kind, value: row["target_value"])
        else { return nil }
        return Assignment(id: .init(row["id"]), printerID: .init(row["printer_id"]), profileID: (row["profile_id"] as String?).map { ProfileID($0) }, target: target)
    }

    private static func directoryRecord(_ row: Row) -> StoredDirectorySettings {
        StoredDirectorySettings(
            url: row["url"], startTLS: row["start_tls"], caPEM: row["ca_pem"], baseDN: row["base_dn"], bindDN: row["bind_dn"],
            sealedBindPassword: Array((row["bind_password_sealed"] as Data?) ?? Data()), keyID: row["key_id"], flavour: row["flavour"],
            cacheTTLSeconds: row["cache_ttl_seconds"], adminGroupDN: row["admin_group_dn"], revision: row["revision"],
            updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }

    private static func fetchDirectory(_ db: Database) throws -> StoredDirectorySettings? {
        try Row.fetchOne(db, sql: "SELECT * FROM directory_settings WHERE id = 1").map(Self.directoryRecord)
    }

    private static func driverCacheRecord(_ row: Row) -> DriverCacheRecord {
        DriverCacheRecord(
            id: .init(row["id"]), name: row["name"], url: row["url"], agentID: .init(row["agent_id"]),
            ranges: DriverCacheRecord.decodeRanges(row["ranges"]), sites: DriverCacheRecord.decodeList(row["sites"]),
            createdAt: Date(timeIntervalSince1970: row["created_at"]), updatedAt: Date(timeIntervalSince1970: row["updated_at"]),
            certificateSerial: row["certificate_serial"], certificateNotAfter: date(row["certificate_not_after"]))
    }

    /// A cache's plans change with its agent's revocation: bump when `agentID` runs one.
    private static func bumpIfCache(agentID: String, _ db: Database) throws {
        if try String.fetchOne(db, sql: "SELECT id FROM driver_caches WHERE agent_id = ?", arguments: [agentID]) != nil {
            try Self.bumpGeneration(db)
        }
    }

    private static func jobRecord(_ row: Row) -> JobRecord {
        JobRecord(
            jobID: .init(row["job_id"]), user: row["user"], computer: row["computer"], printer: row["printer"],
            documentName: row["document_name"], pages: row["pages"], copies: row["copies"], color: row["color"],
            duplex: row["duplex"], bytes: row["bytes"], protocol: PrinterProtocol(rawValue: row["protocol"]) ?? .raw,
            submittedAt: Date(timeIntervalSince1970: row["submitted_at"]), completedAt: Date(timeIntervalSince1970: row["completed_at"]),
            outcome: JobRecord.Outcome(rawValue: row["outcome"]) ?? .printed)
    }

    private static func whereClause(_ filter: JobFilter) -> (String, StatementArguments) {
        var clauses = [String]()
        var arguments = StatementArguments()
        if let from = filter.from { clauses.append("submitted_at >= ?"); arguments += [from.timeIntervalSince1970] }
        if let to = filter.to { clauses.append("submitted_at < ?"); arguments += [to.timeIntervalSince1970] }
        if let user = filter.user { clauses.append("user = ?"); arguments += [user] }
        if let printer = filter.printer { clauses.append("printer = ?"); arguments += [printer] }
        if let computer = filter.computer { clauses.append("computer = ?"); arguments += [computer] }
        return (clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND "), arguments)
    }

    /// Runs a write, turning SQLite constraint violations into a 409 for the admin.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await self.writer.write(body)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw ServerError.conflict("That conflicts with an existing record (\(error.message ?? "constraint")).")
        }
    }

    // MARK: Enrollment tokens

    public func createEnrollmentToken(_ token: EnrollmentTokenRecord, audit: AuditEntry) async throws {
        try await self.write { db in
            try db.execute(
                sql: "INSERT INTO enrollment_tokens (id, token_hash, label, created_at, expires_at, max_uses, uses, revoked_at) VALUES (?, ?, ?, ?, ?, ?, 0, NULL)",
                arguments: [token.id.rawValue, token.tokenHash, token.label, token.createdAt.timeIntervalSince1970, token.expiresAt?.timeIntervalSince1970, token.maxUses])
            try Self.audit(audit, db)
        }
    }

    public func enrollmentTokens() async throws -> [EnrollmentTokenRecord] {
        try await self.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM enrollment_tokens ORDER BY created_at, id").map(Self.tokenRecord)
        }
    }

    public func revokeEnrollmentToken(id: EnrollmentTokenID, at: Date, audit: AuditEntry) async throws -> Bool {
        try await self.write { db in
            try db.execute(sql: "UPDATE enrollment_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", arguments: [at.timeIntervalSince1970, id.rawValue])
            guard db.changesCount > 0 else { return false }
            try Self.audit(audit, db)
            return true
        }
    }

    // MARK: Agents

    public func enroll(tokenHash: String, request: EnrollRequest, credentialHash: String, at now: Date) async throws -> Result<AgentRecord, TokenRefusal> {
        try await self.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM enrollment_tokens WHERE token_hash = ?", arguments: [tokenHash]) else {
                return .failure(.tokenUnknown)
            }
            let token = Self.tokenRecord(row)
            guard SecretToken.constantTimeEquals(Array(token.tokenHash.utf8), Array(tokenHash.utf8)) else { return .failure(.tokenUnknown) }
            if let refusal = token.refusal(at: now) { return .failure(refusal) }
            try db.execute(sql: "UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ?", arguments: [token.id.rawValue])

            let agentID: AgentID
            if let existing = try String.fetchOne(db, sql: "SELECT id FROM agents WHERE machine_id = ?", arguments: [request.machineID]) {
                agentID = AgentID(existing)
                try db.execute(
                    sql: "UPDATE agents SET hostname = ?, os = ?, agent_version = ?, enrolled_at = ?, token_id = ?, revoked_at = NULL WHERE id = ?",
                    arguments: [request.hostname, request.os, request.agentVersion, now.timeIntervalSince1970, token.id.rawValue, existing])
                try db.execute(
                    sql: "UPDATE device_credentials SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL",
                    arguments: [now.timeIntervalSince1970, existing])
                try Self.bumpIfCache(agentID: existing, db)
            } else {
                agentID = AgentID.random()
                try db.execute(
                    sql: "INSERT INTO agents (id, machine_id, hostname, os, agent_version, enrolled_at, token_id, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                    arguments: [agentID.rawValue, request.machineID, request.hostname, request.os, request.agentVersion, now.timeIntervalSince1970, token.id.rawValue])
            }
            try db.execute(
                sql: "INSERT INTO device_credentials (credential_hash, agent_id, created_at, revoked_at) VALUES (?, ?, ?, NULL)",
                arguments: [credentialHash, agentID.rawValue, now.timeIntervalSince1970])
            return .success(AgentRecord(
                id: agentID, machineID: request.machineID, hostname: request.hostname, os: request.os,
                agentVersion: request.agentVersion, enrolledAt: now, revokedAt: nil))
        }
    }

    public func authenticateAgent(credentialHash: String) async throws -> AgentAuthentication? {
        try await self.writer.read { db in
            guard let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT c.credential_hash, c.agent_id, c.revoked_at, a.hostname,
                           (SELECT generation FROM config_state WHERE id = 1) AS generation,
                           EXISTS (SELECT 1 FROM held_jobs h WHERE h.agent_id = c.agent_id
                                   AND (h.state = 'released' OR (h.state = 'cancelled' AND h.settled = 0))) AS pending
                    FROM device_credentials c JOIN agents a ON a.id = c.agent_id
                    WHERE c.credential_hash = ?
                    """,
                arguments: [credentialHash])
            else { return nil }
            let stored: String = row["credential_hash"]
            guard SecretToken.constantTimeEquals(Array(stored.utf8), Array(credentialHash.utf8)) else { return nil }
            return AgentAuthentication(
                agentID: .init(row["agent_id"]), hostname: row["hostname"],
                credentialRevoked: (row["revoked_at"] as Double?) != nil, generation: row["generation"], hasPendingReleases: row["pending"])
        }
    }

    public func agents() async throws -> [AgentRecord] {
        try await self.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY hostname, id").map(Self.agentRecord)
        }
    }

    public func revokeAgent(id: AgentID, at: Date, audit: AuditEntry) async throws -> Bool {
        try await self.write { db in
            try db.execute(sql: "UPDATE agents SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", arguments: [at.timeIntervalSince1970, id.rawValue])
            guard db.changesCount > 0 else { return false }
            try db.execute(
                sql: "UPDATE device_credentials SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL",
                arguments: [at.timeIntervalSince1970, id.rawValue])
            try Self.bumpIfCache(agentID: id.rawValue, db)
            try Self.audit(audit, db)
            return true
        }
    }

    // MARK: Configuration

    public func createPrinter(_ printer: PrinterRecord, audit: AuditEntry) async throws {
        try await self.write { db in
            if let driverID = printer.driverID,
               try String.fetchOne(db, sql: "SELECT id FROM drivers WHERE id = ?", arguments: [driverID.rawValue]) == nil {
                throw ServerError.invalidField("driver_id \(driverID) does not name a driver")
            }
            try db.execute(
                sql: "INSERT INTO printers (id, name, address, protocol, port, queue, location, site, driver_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [printer.id.rawValue, printer.name, printer.address, printer.protocol.rawValue, printer.port, printer.queue, printer.location, printer.site, printer.driverID?.rawValue])
            try Self.bumpGeneration(db)
            try Self.audit(audit, db)
        }
    }

    public func printers() async throws -> [PrinterRecord] {
        try await self.writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM printers ORDER BY name").map(Self.printerRecord) }
    }

    public func deletePrinter(id: PrinterID, audit: AuditEntry) async throws -> Bool {
        try await self.write { db in
            try db.execute(sql: "DELETE FROM printers WHERE id = ?", arguments: [id.rawValue])
            guard db.changesCount > 0 else { return false }
            try Self.bumpGeneration(db)
            try Self.audit(audit, db)
            return true
        }
    }

    public func setPrinterDriver(id: PrinterID, driverID: DriverID?, audit: AuditEntry) async throws -> Bool {
        try await self.write { db in
            if let driverID, try String.fetchOne(db, sql: "SELECT id FROM drivers WHERE id = ?", arguments: [driverID.rawValue]) == nil {
                throw ServerError.invalidField("driver_id \(driverID) does not name a driver")
            }
            try db.execute(sql: "UPDATE printers SET driver_id = ? WHERE id = ?", arguments: [driverID?.rawValue, id.rawValue])
            guard db.changesCount > 0 else { return false }
            try Self.bumpGeneration(db)
            try Self.audit(audit, db)
            return true
        }
    }

    public func createProfile(_ profile: ProfileRecord, audit: AuditEntry) async throws {
        try await self.write { db in
            let p = profile.profile
            try db.execute(
                sql: "INSERT INTO profiles (id, name, duplex, color, paper, tray, copies) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [profile.id.rawValue, profile.name, p.duplex.rawValue, p.color, p.paper, p.tray, p.copies])
            try Self.bumpGeneration(db)
            try Self.audit(audit, db)
        }
    }

    public func profiles() async throws -> [ProfileRecord] {
        try await self.writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM profiles ORDER BY name").map(Self.profileRecord) }
    }

    public func deleteProfile(id: ProfileID, audit: AuditEntry) async throws -> Bool {
        try await self.write { db in
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM assignments WHERE profile_id = ?", arguments: [id.rawValue]) ?? 0 > 0 {
                throw ServerError.conflict("The profile is used by an assignment; delete the assignment first.")
            }
            try db.execute(sql: "DELETE FROM profiles WHERE id = ?", arguments: [id.rawValue])
            guard db.changesCount > 0 else { return false }
            try Self.bumpGeneration(db)
            try Self.audit(audit, db)
            return true
        }
    }

    public func createAssignment(_ assignment: Assignment, audit: AuditEntry) async throws {
        try await self.write { db in
            if try String.fetchOne(db, sql: "SELECT id FROM printers WHERE id = ?", arguments: [assignment.printerID.rawValue]) == nil {
                throw ServerError.invalidField("printer_id \(assignment.printerID) does not name a printer")
            }
            if let profileID = assignment.profileID,
               try String.fetchOne(db, sql: "SELECT id FROM profiles WHERE id = ?", arguments: [profileID.rawValue]) == nil {
                throw ServerError.invalidField("profile_id \(profileID) does not name a profile")
            }
            try db.execute(
                sql: "INSERT INTO assignments (id, printer_id, profile_id, target_kind, target_value) VALUES (?, ?, ?, ?, ?)",
                arguments: [assignment.id.rawValue, assignment.printerID.rawValue, assignment.profileID?.rawValue, assignment.target.kind.rawValue, assignment.target.value])
            try Self.bumpGeneration(db)
            try Self.audit(audit, db)
        }
    }

    public func assignments() async throws -> [Assignment] {
        try await self.writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM assignments ORDER BY id").compactMap(Self.assignment) }
    }

    public func deleteAssignment(id: AssignmentID, audit: AuditEntry) async throws -> Bool {
        try await self.write { db in
            try db.execute(sql: "DELETE FROM assignments WHERE id = ?", arguments: [id.rawValue])
            guard db.changesCount > 0 else { return false }
            try Self.bumpGeneration(db)
            try Self.audit(audit, db)
            return true
        }
    }

    public func createDriver(_ driver: DriverRecord, audit: AuditEntry) async throws {
        try await self.write { db in
            let m = driver.manifest.manifest
            try db.execute(
                sql: "INSERT INTO drivers (id, name, version, os, sha256, size, signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [driver.id.rawValue, m.name, m.version, m.os, m.sha256, m.size, driver.manifest.signature, driver.createdAt.timeIntervalSince1970])
            try Self.bumpGeneration(db)
            try Self.audit(audit, db)
        }
    }

    public func drivers() async throws -> [DriverRecord] {
        try await self.writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM drivers ORDER BY name, version").map(Self.driverRecord) }
    }

    public func driver(sha256: String) async throws -> DriverRecord? {
        try await self.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM drivers WHERE sha256 = ? LIMIT 1", arguments: [sha256]).map(Self.driverRecord)
        }
    }

    public func planningSnapshot() async throws -> PlanningSnapshot {
        try await self.writer.read { db in
            let generation = try Int64.fetchOne(db, sql: "SELECT generation FROM config_state WHERE id = 1") ?? 0
            let printers = try Row.fetchAll(db, sql: "SELECT * FROM printers").map(Self.printerRecord)
            let profiles = try Row.fetchAll(db, sql: "SELECT * FROM profiles").map(Self.profileRecord)
            let drivers = try Row.fetchAll(db, sql: "SELECT * FROM drivers").map(Self.driverRecord)
            let assignments = try Row.fetchAll(db, sql: "SELECT * FROM assignments").compactMap(Self.assignment)
            return PlanningSnapshot(
                generation: generation,
                printers: Dictionary(uniqueKeysWithValues: printers.map { ($0.id, $0) }),
                profiles: Dictionary(uniqueKeysWithValues: profiles.map { ($0.id, $0) }),
                drivers: Dictionary(uniqueKeysWithValues: drivers.map { ($0.id, $0) }),
                assignments: assignments,
                directory: try Self.fetchDirectory(db),
                driverCaches: try Row.fetchAll(
                    db, sql: "SELECT c.* FROM driver_caches c JOIN agents a ON a.id = c.agent_id WHERE a.revoked_at IS NULL ORDER BY c.name"
                ).map { Self.driverCacheRecord($0).route })
        }
    }

    // MARK: LAN driver caches

    public func createDriverCache(_ cache: DriverCacheRecord, audit: AuditEntry) async throws {
        try await self.write { db in
            guard try String.fetchOne(db, sql: "SELECT id FROM agents WHERE id = ?", arguments: [cache.agentID.rawValue]) != nil else {
                throw ServerError.invalidField("agent_id \(cache.agentID) does not name an enrolled agent")
            }
            try db.execute(
                sql: """
                    INSERT INTO driver_caches (id, name, url, agent_id, ranges, sites, created_at, updated_at, certificate_serial, certificate_not_after)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)
                    """,
                arguments: [
                    cache.id.rawValue, cache.name, cache.url, cache.agentID.rawValue, DriverCacheRecord.encodeList(cache.ranges.map(\.description)),
                    DriverCacheRecord.encodeList(cache.sites), cache.createdAt.timeIntervalSince1970, cache.updatedAt.timeIntervalSince1970,
                ])
            try Self.bumpGeneration(db)
            try Self.audit(audit, db)
        }
    }

    public func driverCaches() async throws -> [DriverCacheRecord] {
        try await self.writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM driver_caches ORDER BY name").map(Self.driverCacheRecord) }
    }

    public func driverCache(agentID: AgentID) async throws -> DriverCacheRecord? {
        try await self.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM driver_caches WHERE agent_id = ?", arguments: [agentID.rawValue]).map(Self.driverCacheRecord)
        }
    }

    public func updateDriverCache(_ cache: DriverCacheRecord, audit: AuditEntry) async throws -> Bool {
        try await self.write { db in
            guard try String.fetchOne(db, sql: "SELECT id FROM agents WHERE id = ?", arguments: [cache.agentID.rawValue]) != nil else {
                throw ServerError.invalidField("agent_id \(cache.agentID) does not name an enrolled agent")
            }
            try db.execute(
                sql: "UPDATE driver_caches SET name = ?, url = ?, agent_id = ?, ranges = ?, sites = ?, updated_at = ? WHERE id = ?",
                arguments: [
                    cache.name, cache.url, cache.agentID.rawValue, DriverCacheRecord.encodeList(cache.ranges.map(\.description)),
                    DriverCacheRecord.encodeList(cache.sites), cache.updatedAt.timeIntervalSince1970, cache.id.rawValue,
                ])
            guard db.changesCount > 0 else { return false }
            try Self.bumpGeneration(db)
            try Self.audit(audit, db)
            return true
        }
    }

    public func deleteDriverCache(id: DriverCacheID, audit: AuditEntry) async throws -> Bool {
        try await self.write { db in
            try db.execute(sql: "DELETE FROM driver_caches WHERE id = ?", arguments: [id.rawValue])
            guard db.changesCount > 0 else { return false }
            try Self.bumpGeneration(db)
            try Self.audit(audit, db)
            return true
        }
    }

    public func recordDriverCacheCertificate(id: DriverCacheID, serial: String, notAfter: Date, audit: AuditEntry) async throws -> Bool {
        try await self.write { db in
            try db.execute(
                sql: "UPDATE driver_caches SET certificate_serial = ?, certificate_not_after = ? WHERE id = ?",
                arguments: [serial, notAfter.timeIntervalSince1970, id.rawValue])
            guard db.changesCount > 0 else { return false }
            try Self.audit(audit, db)
            return true
        }
    }

    // MARK: Directory

    public func directorySettings() async throws -> (settings: StoredDirectorySettings?, generation: Int64) {
        try await self.writer.read { db in
            (try Self.fetchDirectory(db), try Int64.fetchOne(db, sql: "SELECT generation FROM config_state WHERE id = 1") ?? 0)
        }
    }

    public func saveDirectorySettings(_ settings: StoredDirectorySettings, audit: AuditEntry) async throws -> StoredDirectorySettings {
        try await self.write { db in
            try Self.bumpGeneration(db)
            var saved = settings
            saved.revision = try Int64.fetchOne(db, sql: "SELECT generation FROM config_state WHERE id = 1") ?? 0
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO directory_settings
                        (id, url, start_tls, ca_pem, base_dn, bind_dn, bind_password_sealed, key_id, flavour, cache_ttl_seconds, admin_group_dn, revision, updated_at)
                    VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    saved.url, saved.startTLS, saved.caPEM, saved.baseDN, saved.bindDN, Data(saved.sealedBindPassword), saved.keyID,
                    saved.flavour, saved.cacheTTLSeconds, saved.adminGroupDN, saved.revision, saved.updatedAt.timeIntervalSince1970,
                ])
            try Self.audit(audit, db)
            return saved
        }
    }

    public func deleteDirectorySettings(audit: AuditEntry) async throws -> Int64? {
        try await self.write { db in
            try db.execute(sql: "DELETE FROM directory_settings WHERE id = 1")
            guard db.changesCount > 0 else { return nil }
            try Self.bumpGeneration(db)
            try Self.audit(audit, db)
            return try Int64.fetchOne(db, sql: "SELECT generation FROM config_state WHERE id = 1") ?? 0
        }
    }

    // MARK: Jobs

    public func recordJobs(_ jobs: [JobRecord], agentID: AgentID, receivedAt: Date) async throws -> JobIngestResult {
        try await self.writer.write { db in
            var accepted = [JobID]()
            var duplicates = [JobID]()
            let statement = try db.cachedStatement(sql: """
                INSERT INTO jobs (job_id, agent_id, user, computer, printer, document_name, pages, copies, color, duplex,
                                  bytes, protocol, submitted_at, completed_at, outcome, received_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(job_id) DO NOTHING
                """)
            for job in jobs {
                try statement.execute(arguments: [
                    job.jobID.rawValue, agentID.rawValue, job.user, job.computer, job.printer, job.documentName,
                    job.pages, job.copies, job.color, job.duplex, job.bytes, job.protocol.rawValue,
                    job.submittedAt.timeIntervalSince1970, job.completedAt.timeIntervalSince1970, job.outcome.rawValue,
                    receivedAt.timeIntervalSince1970,
                ])
                if db.changesCount > 0 {
                    accepted.append(job.jobID)
                    try Self.settleHeldJob(job, db)
                } else {
                    duplicates.append(job.jobID)
                }
            }
            return JobIngestResult(accepted: accepted, duplicates: duplicates)
        }
    }

    public func jobs(matching filter: JobFilter, limit: Int, offset: Int) async throws -> [JobRecord] {
        try await self.writer.read { db in
            var (clause, arguments) = Self.whereClause(filter)
            arguments += [limit, offset]
            return try Row.fetchAll(db, sql: "SELECT * FROM jobs \(clause) ORDER BY submitted_at, job_id LIMIT ? OFFSET ?", arguments: arguments)
                .map(Self.jobRecord)
        }
    }

    public func jobTotals(matching filter: JobFilter) async throws -> JobTotals {
        try await self.writer.read { db in
            let (clause, arguments) = Self.whereClause(filter)
            let printed = clause.isEmpty ? "WHERE outcome = 'printed'" : clause + " AND outcome = 'printed'"
            let jobs = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs \(clause)", arguments: arguments) ?? 0
            let row = try Row.fetchOne(
                db,
                sql: "SELECT COALESCE(SUM(pages * copies), 0) AS pages, COALESCE(SUM(CASE WHEN color THEN pages * copies ELSE 0 END), 0) AS color_pages FROM jobs \(printed)",
                arguments: arguments)
            let pages: Int = row?["pages"] ?? 0
            let colorPages: Int = row?["color_pages"] ?? 0
            return JobTotals(jobs: jobs, pages: pages, colorPages: colorPages, colorShare: pages == 0 ? 0 : Double(colorPages) / Double(pages))
        }
    }

    // MARK: Console sessions

    public func createConsoleSession(_ session: ConsoleSessionRecord, replacing: String?, audit: AuditEntry) async throws {
        try await self.write { db in
            let now = session.createdAt.timeIntervalSince1970
            try db.execute(sql: "DELETE FROM console_sessions WHERE expires_at <= ? OR last_seen_at + idle_seconds <= ?", arguments: [now, now])
            if let replacing { try db.execute(sql: "DELETE FROM console_sessions WHERE id_hash = ?", arguments: [replacing]) }
            try db.execute(
                sql: "INSERT INTO console_sessions (id_hash, user, created_at, last_seen_at, expires_at, idle_seconds) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [session.idHash, session.user, now, session.lastSeenAt.timeIntervalSince1970, session.expiresAt.timeIntervalSince1970, session.idleTimeout])
            try Self.audit(audit, db)
        }
    }

    public func consoleSession(idHash: String) async throws -> ConsoleSessionRecord? {
        try await self.writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM console_sessions WHERE id_hash = ?", arguments: [idHash]) else { return nil }
            let stored: String = row["id_hash"]
            guard SecretToken.constantTimeEquals(Array(stored.utf8), Array(idHash.utf8)) else { return nil }
            return ConsoleSessionRecord(
                idHash: stored, user: row["user"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                lastSeenAt: Date(timeIntervalSince1970: row["last_seen_at"]), expiresAt: Date(timeIntervalSince1970: row["expires_at"]),
                idleTimeout: row["idle_seconds"])
        }
    }

    public func touchConsoleSession(idHash: String, at: Date) async throws {
        try await self.write { db in
            try db.execute(
                sql: "UPDATE console_sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE id_hash = ?",
                arguments: [at.timeIntervalSince1970, idHash])
        }
    }

    public func deleteConsoleSession(idHash: String, audit: AuditEntry?) async throws -> Bool {
        try await self.write { db in
            try db.execute(sql: "DELETE FROM console_sessions WHERE id_hash = ?", arguments: [idHash])
            guard db.changesCount > 0 else { return false }
            if let audit { try Self.audit(audit, db) }
            return true
        }
    }

    // MARK: Audit and health

    public func appendAudit(_ entry: AuditEntry) async throws {
        try await self.write { db in try Self.audit(entry, db) }
    }

    public func auditEntries(limit: Int, offset: Int) async throws -> [AuditRecord] {
        try await self.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?", arguments: [limit, offset]).map { row in
                AuditRecord(id: row["id"], at: Date(timeIntervalSince1970: row["at"]), actor: row["actor"], action: row["action"], target: row["target"], detail: row["detail"])
            }
        }
    }

    public func isReady() async -> Bool {
        (try? await self.writer.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }
}
