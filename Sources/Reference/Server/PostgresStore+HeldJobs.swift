import Foundation
import Logging
import PostgresNIO
import PrintplaneCore

/// Pull printing on PostgreSQL. A release is one conditional `UPDATE … WHERE state = 'held'`:
/// the row lock makes the second of two concurrent releases (on any instances) re-check the
/// state and find it released, so exactly one wins. Every release and cancellation also sends
/// `NOTIFY printplane_releases, '<agent id>'` in its transaction; PostgreSQL delivers it on
/// commit to every instance that listens (``followReleases(_:resynchronised:)``), which is how a
/// release made through one instance wakes an agent's long-poll held by another.
extension PostgresStore: ReleaseFeed {
    /// The channel releases are announced on.
    static let releaseChannel = "printplane_releases"

    static let heldColumns = """
        job_id, user_name, computer, printer, document_name, pages, copies, color, duplex, bytes, protocol, held_at, expires_at,
        state, released_to, released_at, released_by, finished_at, failure, agent_id, release_printer
        """

    private static func registration(_ row: PostgresRandomAccessRow) throws -> HeldJobRegistration {
        HeldJobRegistration(
            jobID: .init(try row["job_id"].decode(String.self)), user: try row["user_name"].decode(String.self),
            computer: try row["computer"].decode(String.self), printer: try row["printer"].decode(String.self),
            documentName: try row["document_name"].decode(String.self), pages: try row["pages"].decode(Int.self),
            copies: try row["copies"].decode(Int.self), color: try row["color"].decode(Bool.self), duplex: try row["duplex"].decode(Bool.self),
            bytes: try row["bytes"].decode(Int64.self), protocol: PrinterProtocol(rawValue: try row["protocol"].decode(String.self)) ?? .raw,
            heldAt: try row["held_at"].decode(Date.self), expiresAt: try row["expires_at"].decode(Date.self))
    }

    /// A held job as selected with ``heldColumns``, with its agent and stored release printer.
    private static func heldRow(_ row: PostgresRow) throws -> (status: HeldJobStatus, agentID: AgentID, releasePrinter: String?) {
        let row = row.makeRandomAccess()
        let status = HeldJobStatus(
            job: try self.registration(row), state: HeldJobState(rawValue: try row["state"].decode(String.self)) ?? .held,
            releasedTo: try row["released_to"].decode(String?.self), releasedAt: try row["released_at"].decode(Date?.self),
            releasedBy: try row["released_by"].decode(String?.self), finishedAt: try row["finished_at"].decode(Date?.self),
            failure: try row["failure"].decode(String?.self))
        return (status, AgentID(try row["agent_id"].decode(String.self)), try row["release_printer"].decode(String?.self))
    }

    private static func notify(_ agentID: AgentID, _ connection: PostgresConnection, _ logger: Logger) async throws {
        _ = try await connection.query("SELECT pg_notify(\(Self.releaseChannel), \(agentID.rawValue))", logger: logger).collect()
    }

    public func registerHeldJobs(_ jobs: [HeldJobRegistration], agentID: AgentID, receivedAt: Date, maximumHold: TimeInterval) async throws -> HeldJobIngestResult {
        guard !jobs.isEmpty else { return HeldJobIngestResult() }
        let logger = self.logger
        let ids = jobs.map(\.jobID.rawValue)
        let expiries = jobs.map { HeldJobRules.expiry(of: $0, receivedAt: receivedAt, maximumHold: maximumHold) }
        return try await self.transaction { connection in
            // A job whose record arrived first is registered in the state that record says.
            var outcomes = [String: JobRecord.Outcome]()
            for row in try await connection.query("SELECT job_id, outcome FROM jobs WHERE job_id = ANY(\(ids))", logger: logger).collect() {
                let (id, outcome) = try row.decode((String, String).self)
                outcomes[id] = JobRecord.Outcome(rawValue: outcome)
            }
            let states = zip(jobs, expiries).map { job, expires in
                HeldJobRules.initialState(outcome: outcomes[job.jobID.rawValue], expiresAt: expires, receivedAt: receivedAt)
            }
            let rows = try await connection.query(
                """
                INSERT INTO held_jobs (job_id, agent_id, user_name, user_key, computer, printer, document_name, pages, copies, color,
                                       duplex, bytes, protocol, held_at, expires_at, received_at, state, settled, finished_at)
                SELECT j.job_id, \(agentID.rawValue), j.user_name, j.user_key, j.computer, j.printer, j.document_name, j.pages, j.copies,
                       j.color, j.duplex, j.bytes, j.protocol, to_timestamp(j.held_at), to_timestamp(j.expires_at), \(receivedAt),
                       j.state, j.settled, CASE WHEN j.final THEN \(receivedAt) ELSE NULL END
                FROM unnest(\(ids), \(jobs.map(\.user)), \(jobs.map { HeldJobRules.userKey($0.user) }), \(jobs.map(\.computer)),
                            \(jobs.map(\.printer)), \(jobs.map(\.documentName)), \(jobs.map(\.pages)), \(jobs.map(\.copies)),
                            \(jobs.map(\.color)), \(jobs.map(\.duplex)), \(jobs.map { Int($0.bytes) }), \(jobs.map(\.protocol.rawValue)),
                            \(jobs.map(\.heldAt.timeIntervalSince1970)), \(expiries.map(\.timeIntervalSince1970)), \(states.map(\.rawValue)),
                            \(jobs.map { outcomes[$0.jobID.rawValue] != nil }), \(states.map(\.isFinal)))
                     AS j(job_id, user_name, user_key, computer, printer, document_name, pages, copies, color, duplex, bytes, protocol,
                          held_at, expires_at, state, settled, final)
                ON CONFLICT (job_id) DO NOTHING
                RETURNING job_id, expires_at
                """, logger: logger).collect()
            var result = HeldJobIngestResult()
            var unclaimed = [String: Date]()
            for row in rows {
                let (id, expires) = try row.decode((String, Date).self)
                unclaimed[id] = expires
            }
            // A batch naming a job twice: the first is accepted, the second is a duplicate, as with SQLite.
            var known = [String]()
            for job in jobs {
                if let expires = unclaimed.removeValue(forKey: job.jobID.rawValue) {
                    result.accepted.append(job.jobID)
                    result.expiresAt[job.jobID] = expires
                } else {
                    result.duplicates.append(job.jobID)
                    known.append(job.jobID.rawValue)
                }
            }
            if !known.isEmpty {
                for row in try await connection.query("SELECT job_id, expires_at FROM held_jobs WHERE job_id = ANY(\(known))", logger: logger).collect() {
                    let (id, expires) = try row.decode((String, Date).self)
                    result.expiresAt[JobID(id)] = expires
                }
            }
            return result
        }
    }

    public func heldJobs(user: String, states: Set<HeldJobState>?, limit: Int) async throws -> [HeldJobStatus] {
        let logger = self.logger
        let wanted = (states ?? Set(HeldJobState.allCases)).map(\.rawValue).sorted()
        let key = HeldJobRules.userKey(user)
        return try await self.transaction { connection in
            var binds = PostgresBindings()
            binds.append(key)
            binds.append(wanted)
            binds.append(limit)
            let sql = "SELECT \(Self.heldColumns) FROM held_jobs WHERE user_key = $1 AND state = ANY($2) ORDER BY held_at DESC, job_id LIMIT $3"
            return try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect().map { try Self.heldRow($0).status }
        }
    }

    public func heldJob(id: JobID, user: String) async throws -> (status: HeldJobStatus, agentID: AgentID)? {
        let logger = self.logger
        let sql = "SELECT \(Self.heldColumns) FROM held_jobs WHERE job_id = $1 AND user_key = $2"
        let binds = Self.binds(id.rawValue, HeldJobRules.userKey(user))
        return try await self.transaction { connection in
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect().first.map { row in
                let (status, agentID, _) = try Self.heldRow(row)
                return (status, agentID)
            }
        }
    }

    /// The job of `user` as it is, for a refusal; nil when there is none.
    private static func current(_ id: JobID, key: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> HeldJobStatus? {
        let sql = "SELECT \(Self.heldColumns) FROM held_jobs WHERE job_id = $1 AND user_key = $2"
        return try await connection.query(PostgresQuery(unsafeSQL: sql, binds: Self.binds(id.rawValue, key)), logger: logger).collect().first.map { try Self.heldRow($0).status }
    }

    public func releaseHeldJob(id: JobID, user: String, printer: PlannedPrinter, at: Date, audit: AuditEntry) async throws -> HeldJobChange {
        let logger = self.logger
        let printerJSON = try HeldJobRules.printerJSON(printer)
        let key = HeldJobRules.userKey(user)
        return try await self.transaction { connection in
            var binds = PostgresBindings()
            binds.append(printerJSON)
            binds.append(printer.name)
            binds.append(at)
            binds.append(audit.actor)
            binds.append(id.rawValue)
            binds.append(key)
            let sql = """
                UPDATE held_jobs SET state = 'released', release_printer = $1, released_to = $2, released_at = $3, released_by = $4
                WHERE job_id = $5 AND user_key = $6 AND state = 'held' AND expires_at > $3
                RETURNING \(Self.heldColumns)
                """
            guard let row = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect().first else {
                return try await Self.current(id, key: key, connection, logger).map { .refused($0) } ?? .notFound
            }
            let (status, agentID, _) = try Self.heldRow(row)
            try await Self.audit(audit, connection, logger)
            try await Self.notify(agentID, connection, logger)
            return .changed(status, agentID: agentID)
        }
    }

    public func cancelHeldJob(id: JobID, user: String, at: Date, audit: AuditEntry) async throws -> HeldJobChange {
        let logger = self.logger
        let key = HeldJobRules.userKey(user)
        return try await self.transaction { connection in
            var binds = PostgresBindings()
            binds.append(at)
            binds.append(id.rawValue)
            binds.append(key)
            let sql = """
                UPDATE held_jobs SET state = 'cancelled', finished_at = $1
                WHERE job_id = $2 AND user_key = $3 AND state IN ('held', 'released')
                RETURNING \(Self.heldColumns)
                """
            guard let row = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect().first else {
                return try await Self.current(id, key: key, connection, logger).map { .refused($0) } ?? .notFound
            }
            let (status, agentID, _) = try Self.heldRow(row)
            try await Self.audit(audit, connection, logger)
            try await Self.notify(agentID, connection, logger)
            return .changed(status, agentID: agentID)
        }
    }

    public func pendingReleases(agentID: AgentID) async throws -> PendingReleases {
        let logger = self.logger
        return try await self.transaction { connection in
            let sql = "SELECT \(Self.heldColumns) FROM held_jobs WHERE agent_id = $1 AND \(HeldJobRules.pendingCondition) ORDER BY held_at, job_id"
            var pending = PendingReleases()
            for row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: Self.binds(agentID.rawValue)), logger: logger).collect() {
                let (status, _, printerJSON) = try Self.heldRow(row)
                if status.state == .cancelled {
                    pending.cancelled.append(status.job)
                } else if let release = HeldJobRules.release(job: status.job, printerJSON: printerJSON, releasedAt: status.releasedAt, releasedBy: status.releasedBy) {
                    pending.releases.append(release)
                }
            }
            return pending
        }
    }

    public func expireHeldJobs(at: Date) async throws -> Int {
        let logger = self.logger
        return try await self.transaction { connection in
            try await connection.query(
                "UPDATE held_jobs SET state = 'expired', finished_at = \(at) WHERE state IN ('held', 'released') AND expires_at <= \(at) RETURNING 1",
                logger: logger
            ).collect().count
        }
    }

    public func heldJobTotals(matching filter: JobFilter) async throws -> HeldJobTotals {
        let logger = self.logger
        var binds = PostgresBindings()
        var clauses = [String]()
        func add(_ sql: String, _ value: some PostgresNonThrowingEncodable & Sendable) {
            binds.append(value)
            clauses.append(sql.replacingOccurrences(of: "?", with: "$\(binds.count)"))
        }
        if let from = filter.from { add("held_at >= ?", from) }
        if let to = filter.to { add("held_at < ?", to) }
        if let user = filter.user { add("user_key = ?", HeldJobRules.userKey(user)) }
        if let printer = filter.printer { add("printer = ?", printer) }
        if let computer = filter.computer { add("computer = ?", computer) }
        let clause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let query = PostgresQuery(unsafeSQL: "SELECT state, COUNT(*) FROM held_jobs \(clause) GROUP BY state", binds: binds)
        return try await self.transaction { connection in
            HeldJobTotals(counts: try await connection.query(query, logger: logger).collect().map { try $0.decode((String, Int).self) })
        }
    }

    // MARK: ReleaseFeed

    /// Holds one pooled connection with `LISTEN printplane_releases` until cancelled or the
    /// connection breaks (then it throws and ``ReleaseFeedService`` listens again). Calls
    /// `resynchronised` once listening, so waiters re-read what may have been missed before.
    public func followReleases(_ changed: @escaping @Sendable (AgentID) -> Void, resynchronised: @escaping @Sendable () -> Void) async throws {
        try await self.migrated.wait()
        try await self.client.withConnection { connection in
            try await connection.listen(on: Self.releaseChannel) { notifications in
                resynchronised()
                for try await notification in notifications {
                    changed(AgentID(notification.payload))
                }
            }
        }
    }
}
