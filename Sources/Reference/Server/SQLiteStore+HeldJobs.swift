import Foundation
import GRDB
import PrintplaneCore

/// Pull printing on SQLite: every method is one write (or read) transaction, and SQLite's
/// single writer is what makes "two releases at once, exactly one wins" hold.
extension SQLiteStore {
    private static func registration(_ row: Row) -> HeldJobRegistration {
        HeldJobRegistration(
            jobID: .init(row["job_id"]), user: row["user"], computer: row["computer"], printer: row["printer"],
            documentName: row["document_name"], pages: row["pages"], copies: row["copies"], color: row["color"], duplex: row["duplex"],
            bytes: row["bytes"], protocol: PrinterProtocol(rawValue: row["protocol"]) ?? .raw,
            heldAt: Date(timeIntervalSince1970: row["held_at"]), expiresAt: Date(timeIntervalSince1970: row["expires_at"]))
    }

    static func heldStatus(_ row: Row) -> HeldJobStatus {
        HeldJobStatus(
            job: self.registration(row), state: HeldJobState(rawValue: row["state"]) ?? .held, releasedTo: row["released_to"],
            releasedAt: self.date(row["released_at"]), releasedBy: row["released_by"], finishedAt: self.date(row["finished_at"]),
            failure: row["failure"])
    }

    /// Moves a held job to the state its newly stored record says (inside ``recordJobs``).
    static func settleHeldJob(_ record: JobRecord, _ db: Database) throws {
        try db.execute(
            sql: "UPDATE held_jobs SET state = ?, finished_at = ?, failure = ?, settled = 1 WHERE job_id = ?",
            arguments: [HeldJobState(outcome: record.outcome).rawValue, record.completedAt.timeIntervalSince1970, record.failure, record.jobID.rawValue])
    }

    public func registerHeldJobs(_ jobs: [HeldJobRegistration], agentID: AgentID, receivedAt: Date, maximumHold: TimeInterval) async throws -> HeldJobIngestResult {
        try await self.writer.write { db in
            var result = HeldJobIngestResult()
            for job in jobs {
                if let known = try Double.fetchOne(db, sql: "SELECT expires_at FROM held_jobs WHERE job_id = ?", arguments: [job.jobID.rawValue]) {
                    result.duplicates.append(job.jobID)
                    result.expiresAt[job.jobID] = Date(timeIntervalSince1970: known)
                    continue
                }
                let expires = HeldJobRules.expiry(of: job, receivedAt: receivedAt, maximumHold: maximumHold)
                let outcome = try String.fetchOne(db, sql: "SELECT outcome FROM jobs WHERE job_id = ?", arguments: [job.jobID.rawValue]).flatMap(JobRecord.Outcome.init(rawValue:))
                let state = HeldJobRules.initialState(outcome: outcome, expiresAt: expires, receivedAt: receivedAt)
                try db.execute(
                    sql: """
                        INSERT INTO held_jobs (job_id, agent_id, user, user_key, computer, printer, document_name, pages, copies, color,
                                               duplex, bytes, protocol, held_at, expires_at, received_at, state, settled, finished_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        job.jobID.rawValue, agentID.rawValue, job.user, HeldJobRules.userKey(job.user), job.computer, job.printer,
                        job.documentName, job.pages, job.copies, job.color, job.duplex, job.bytes, job.protocol.rawValue,
                        job.heldAt.timeIntervalSince1970, expires.timeIntervalSince1970, receivedAt.timeIntervalSince1970, state.rawValue,
                        outcome != nil, state.isFinal ? receivedAt.timeIntervalSince1970 : nil,
                    ])
                result.accepted.append(job.jobID)
                result.expiresAt[job.jobID] = expires
            }
            return result
        }
    }

    public func heldJobs(user: String, states: Set<HeldJobState>?, limit: Int) async throws -> [HeldJobStatus] {
        try await self.writer.read { db in
            var arguments: StatementArguments = [HeldJobRules.userKey(user)]
            var stateClause = ""
            if let states {
                guard !states.isEmpty else { return [] }
                stateClause = " AND state IN (\(Array(repeating: "?", count: states.count).joined(separator: ", ")))"
                for state in states.map(\.rawValue).sorted() { arguments += [state] }
            }
            arguments += [limit]
            return try Row.fetchAll(
                db, sql: "SELECT * FROM held_jobs WHERE user_key = ?\(stateClause) ORDER BY held_at DESC, job_id LIMIT ?", arguments: arguments
            ).map(Self.heldStatus)
        }
    }

    public func heldJob(id: JobID, user: String) async throws -> (status: HeldJobStatus, agentID: AgentID)? {
        try await self.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM held_jobs WHERE job_id = ? AND user_key = ?", arguments: [id.rawValue, HeldJobRules.userKey(user)])
                .map { (Self.heldStatus($0), AgentID($0["agent_id"])) }
        }
    }

    public func releaseHeldJob(id: JobID, user: String, printer: PlannedPrinter, at: Date, audit: AuditEntry) async throws -> HeldJobChange {
        let printerJSON = try HeldJobRules.printerJSON(printer)
        return try await self.writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM held_jobs WHERE job_id = ? AND user_key = ?", arguments: [id.rawValue, HeldJobRules.userKey(user)]) else {
                return .notFound
            }
            let before = Self.heldStatus(row)
            guard before.state == .held, before.job.expiresAt > at else { return .refused(before) }
            try db.execute(
                sql: "UPDATE held_jobs SET state = 'released', release_printer = ?, released_to = ?, released_at = ?, released_by = ? WHERE job_id = ? AND state = 'held'",
                arguments: [printerJSON, printer.name, at.timeIntervalSince1970, audit.actor, id.rawValue])
            guard db.changesCount == 1 else { return .refused(before) }
            try Self.audit(audit, db)
            var after = before
            after.state = .released
            after.releasedTo = printer.name
            after.releasedAt = at
            after.releasedBy = audit.actor
            return .changed(after, agentID: AgentID(row["agent_id"]))
        }
    }

    public func cancelHeldJob(id: JobID, user: String, at: Date, audit: AuditEntry) async throws -> HeldJobChange {
        try await self.writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM held_jobs WHERE job_id = ? AND user_key = ?", arguments: [id.rawValue, HeldJobRules.userKey(user)]) else {
                return .notFound
            }
            let before = Self.heldStatus(row)
            guard !before.state.isFinal else { return .refused(before) }
            try db.execute(
                sql: "UPDATE held_jobs SET state = 'cancelled', finished_at = ? WHERE job_id = ? AND state IN ('held', 'released')",
                arguments: [at.timeIntervalSince1970, id.rawValue])
            guard db.changesCount == 1 else { return .refused(before) }
            try Self.audit(audit, db)
            var after = before
            after.state = .cancelled
            after.finishedAt = at
            return .changed(after, agentID: AgentID(row["agent_id"]))
        }
    }

    public func pendingReleases(agentID: AgentID) async throws -> PendingReleases {
        try await self.writer.read { db in
            var pending = PendingReleases()
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM held_jobs WHERE agent_id = ? AND \(HeldJobRules.pendingCondition) ORDER BY held_at, job_id",
                arguments: [agentID.rawValue])
            for row in rows {
                let job = Self.registration(row)
                if row["state"] == HeldJobState.cancelled.rawValue {
                    pending.cancelled.append(job)
                } else if let release = HeldJobRules.release(
                    job: job, printerJSON: row["release_printer"], releasedAt: Self.date(row["released_at"]), releasedBy: row["released_by"]) {
                    pending.releases.append(release)
                }
            }
            return pending
        }
    }

    public func expireHeldJobs(at: Date) async throws -> Int {
        try await self.writer.write { db in
            try db.execute(
                sql: "UPDATE held_jobs SET state = 'expired', finished_at = ? WHERE state IN ('held', 'released') AND expires_at <= ?",
                arguments: [at.timeIntervalSince1970, at.timeIntervalSince1970])
            return db.changesCount
        }
    }

    public func heldJobTotals(matching filter: JobFilter) async throws -> HeldJobTotals {
        try await self.writer.read { db in
            var clauses = [String]()
            var arguments = StatementArguments()
            if let from = filter.from { clauses.append("held_at >= ?"); arguments += [from.timeIntervalSince1970] }
            if let to = filter.to { clauses.append("held_at < ?"); arguments += [to.timeIntervalSince1970] }
            if let user = filter.user { clauses.append("user_key = ?"); arguments += [HeldJobRules.userKey(user)] }
            if let printer = filter.printer { clauses.append("printer = ?"); arguments += [printer] }
            if let computer = filter.computer { clauses.append("computer = ?"); arguments += [computer] }
            let clause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            let rows = try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM held_jobs \(clause) GROUP BY state", arguments: arguments)
            return HeldJobTotals(counts: rows.map { ($0["state"], $0["n"]) })
        }
    }
}
