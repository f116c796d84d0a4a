import Foundation
import GRDB
import NIOCore
import PrintplaneCore

/// The daemon's outbox, held-job index and pending registrations: one SQLite file in WAL
/// mode, shared by the daemon and `printplane agent print` (another process) with a busy
/// timeout. Every write is one transaction, committed before the call returns. Held
/// documents live beside it in `spool/`, written atomically before their row and deleted
/// after it.
public final class SQLiteAgentDatabase: OutboxStorage, JobSpool {
    private let pool: DatabasePool
    private let spoolDirectory: String

    public init(path: String, spoolDirectory: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "printplane.agent.outbox"
        self.pool = try DatabasePool(path: path, configuration: configuration)
        self.spoolDirectory = spoolDirectory
        chmod(path, 0o600)
        try FileManager.default.createDirectory(atPath: spoolDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE outbox (
                    job_id TEXT PRIMARY KEY NOT NULL,
                    record BLOB NOT NULL,
                    created_at REAL NOT NULL,
                    state TEXT NOT NULL DEFAULT 'pending',
                    reason TEXT
                );
                CREATE INDEX outbox_pending ON outbox(state, created_at);
                CREATE TABLE held_jobs (
                    job_id TEXT PRIMARY KEY NOT NULL,
                    job BLOB NOT NULL,
                    held_at REAL NOT NULL
                );
                """)
        }
        // Pull printing: registrations owed to the server. Jobs held before this version get
        // theirs too, so they reach the server after an upgrade.
        migrator.registerMigration("v2-held-registrations") { db in
            try db.execute(sql: """
                CREATE TABLE held_registrations (
                    job_id TEXT PRIMARY KEY NOT NULL,
                    registration BLOB NOT NULL,
                    created_at REAL NOT NULL
                );
                """)
            let decoder = WireCoding.makeDecoder()
            let encoder = WireCoding.makeEncoder()
            for row in try Row.fetchAll(db, sql: "SELECT job_id, job, held_at FROM held_jobs") {
                guard let job = try? decoder.decode(HeldJob.self, from: row["job"] as Data) else { continue }
                try db.execute(
                    sql: "INSERT OR IGNORE INTO held_registrations (job_id, registration, created_at) VALUES (?, ?, ?)",
                    arguments: [row["job_id"] as String, try encoder.encode(job.registration), row["held_at"] as Double])
            }
        }
        try migrator.migrate(self.pool)
    }

    public func append(_ record: JobRecord) async throws {
        let data = try WireCoding.makeEncoder().encode(record)
        try await self.pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO outbox (job_id, record, created_at) VALUES (?, ?, ?)",
                arguments: [record.jobID.rawValue, data, Date().timeIntervalSince1970])
        }
    }

    public func pending(limit: Int) async throws -> [JobRecord] {
        let rows = try await self.pool.read { db in
            try Data.fetchAll(db, sql: "SELECT record FROM outbox WHERE state = 'pending' ORDER BY created_at, job_id LIMIT ?", arguments: [limit])
        }
        let decoder = WireCoding.makeDecoder()
        return try rows.map { try decoder.decode(JobRecord.self, from: $0) }
    }

    public func acknowledge(_ ids: [JobID]) async throws {
        guard !ids.isEmpty else { return }
        try await self.pool.write { db in
            for id in ids { try db.execute(sql: "DELETE FROM outbox WHERE job_id = ?", arguments: [id.rawValue]) }
        }
    }

    public func park(_ rejections: [(JobID, String)]) async throws {
        guard !rejections.isEmpty else { return }
        try await self.pool.write { db in
            for (id, reason) in rejections {
                try db.execute(sql: "UPDATE outbox SET state = 'parked', reason = ? WHERE job_id = ?", arguments: [reason, id.rawValue])
            }
        }
    }

    public func depth() async throws -> Int {
        try await self.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE state = 'pending'") ?? 0 }
    }

    public func parkedCount() async throws -> Int {
        try await self.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE state = 'parked'") ?? 0 }
    }

    // MARK: Held jobs

    private func documentPath(_ id: JobID) -> String {
        "\(self.spoolDirectory)/\(id.rawValue.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }).job"
    }

    public func hold(_ job: HeldJob, document: ByteBuffer) async throws {
        try AtomicFile.write(Data(document.readableBytesView), to: self.documentPath(job.record.jobID), mode: 0o600)
        let encoder = WireCoding.makeEncoder()
        let data = try encoder.encode(job)
        let registration = try encoder.encode(job.registration)
        try await self.pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO held_jobs (job_id, job, held_at) VALUES (?, ?, ?)",
                arguments: [job.record.jobID.rawValue, data, job.heldAt.timeIntervalSince1970])
            try db.execute(
                sql: "INSERT OR IGNORE INTO held_registrations (job_id, registration, created_at) VALUES (?, ?, ?)",
                arguments: [job.record.jobID.rawValue, registration, job.heldAt.timeIntervalSince1970])
        }
    }

    public func heldJobs() async throws -> [HeldJob] {
        let rows = try await self.pool.read { db in try Data.fetchAll(db, sql: "SELECT job FROM held_jobs ORDER BY held_at, job_id") }
        let decoder = WireCoding.makeDecoder()
        return try rows.map { try decoder.decode(HeldJob.self, from: $0) }
    }

    public func document(_ id: JobID) async throws -> HeldDocument? {
        let row = try await self.pool.read { db in try Data.fetchOne(db, sql: "SELECT job FROM held_jobs WHERE job_id = ?", arguments: [id.rawValue]) }
        guard let row else { return nil }
        let job = try WireCoding.makeDecoder().decode(HeldJob.self, from: row)
        return HeldDocument(job: job, bytes: FileManager.default.contents(atPath: self.documentPath(id)).map { ByteBuffer(bytes: $0) })
    }

    public func finish(_ id: JobID, record: JobRecord) async throws {
        let data = try WireCoding.makeEncoder().encode(record)
        try await self.pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO outbox (job_id, record, created_at) VALUES (?, ?, ?)",
                arguments: [record.jobID.rawValue, data, Date().timeIntervalSince1970])
            try db.execute(sql: "DELETE FROM held_jobs WHERE job_id = ?", arguments: [id.rawValue])
        }
        try? FileManager.default.removeItem(atPath: self.documentPath(id))
    }

    public func pendingRegistrations(limit: Int) async throws -> [HeldJobRegistration] {
        let rows = try await self.pool.read { db in
            try Data.fetchAll(db, sql: "SELECT registration FROM held_registrations ORDER BY created_at, job_id LIMIT ?", arguments: [limit])
        }
        let decoder = WireCoding.makeDecoder()
        return try rows.map { try decoder.decode(HeldJobRegistration.self, from: $0) }
    }

    public func pendingRegistrationCount() async throws -> Int {
        try await self.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM held_registrations") ?? 0 }
    }

    public func acknowledgeRegistrations(_ ids: [JobID], expiries: [JobID: Date]) async throws {
        guard !ids.isEmpty || !expiries.isEmpty else { return }
        let decoder = WireCoding.makeDecoder()
        let encoder = WireCoding.makeEncoder()
        try await self.pool.write { db in
            for id in ids { try db.execute(sql: "DELETE FROM held_registrations WHERE job_id = ?", arguments: [id.rawValue]) }
            for (id, expiry) in expiries {
                guard let data = try Data.fetchOne(db, sql: "SELECT job FROM held_jobs WHERE job_id = ?", arguments: [id.rawValue]) else { continue }
                var job = try decoder.decode(HeldJob.self, from: data)
                guard expiry < job.expiresAt else { continue }
                job.expiresAt = expiry
                try db.execute(sql: "UPDATE held_jobs SET job = ? WHERE job_id = ?", arguments: [try encoder.encode(job), id.rawValue])
            }
        }
    }
}
