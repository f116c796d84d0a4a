import Logging
import PostgresNIO

extension PostgresStore {
    /// One named schema version: its statements, applied in one transaction.
    struct Migration: Sendable {
        var name: String
        var statements: [String]
    }

    /// The schema, one migration per version, in order; never edit a shipped one. The
    /// tables mirror ``SQLiteStore``'s, with PostgreSQL types (`timestamptz`, `boolean`,
    /// `bigint`) and `user_name` for the job's user (`user` is reserved in PostgreSQL).
    static let migrations: [Migration] = [
        Migration(name: "v1", statements: [
            "CREATE TABLE config_state (id integer PRIMARY KEY CHECK (id = 1), generation bigint NOT NULL)",
            "INSERT INTO config_state (id, generation) VALUES (1, 1)",
            """
            CREATE TABLE enrollment_tokens (
                id text PRIMARY KEY, token_hash text NOT NULL UNIQUE, label text,
                created_at timestamptz NOT NULL, expires_at timestamptz, max_uses integer,
                uses integer NOT NULL DEFAULT 0, revoked_at timestamptz)
            """,
            """
            CREATE TABLE agents (
                id text PRIMARY KEY, machine_id text NOT NULL UNIQUE, hostname text NOT NULL,
                os text NOT NULL, agent_version text NOT NULL, enrolled_at timestamptz NOT NULL,
                token_id text NOT NULL, revoked_at timestamptz)
            """,
            """
            CREATE TABLE device_credentials (
                credential_hash text PRIMARY KEY, agent_id text NOT NULL REFERENCES agents(id),
                created_at timestamptz NOT NULL, revoked_at timestamptz)
            """,
            "CREATE INDEX device_credentials_agent ON device_credentials(agent_id)",
            """
            CREATE TABLE drivers (
                id text PRIMARY KEY, name text NOT NULL, version text NOT NULL, os text NOT NULL,
                sha256 text NOT NULL, size bigint NOT NULL, signature text NOT NULL, created_at timestamptz NOT NULL,
                UNIQUE (name, version, os))
            """,
            "CREATE INDEX drivers_sha256 ON drivers(sha256)",
            """
            CREATE TABLE printers (
                id text PRIMARY KEY, name text NOT NULL UNIQUE, address text NOT NULL, protocol text NOT NULL,
                port integer NOT NULL, queue text, location text, site text, driver_id text REFERENCES drivers(id))
            """,
            """
            CREATE TABLE profiles (
                id text PRIMARY KEY, name text NOT NULL UNIQUE, duplex text NOT NULL, color boolean NOT NULL,
                paper text NOT NULL, tray text, copies integer NOT NULL)
            """,
            """
            CREATE TABLE assignments (
                id text PRIMARY KEY, printer_id text NOT NULL REFERENCES printers(id) ON DELETE CASCADE,
                profile_id text REFERENCES profiles(id), target_kind text NOT NULL, target_value text)
            """,
            """
            CREATE TABLE jobs (
                job_id text PRIMARY KEY, agent_id text NOT NULL, user_name text NOT NULL, computer text NOT NULL,
                printer text NOT NULL, document_name text NOT NULL, pages integer NOT NULL, copies integer NOT NULL,
                color boolean NOT NULL, duplex boolean NOT NULL, bytes bigint NOT NULL, protocol text NOT NULL,
                submitted_at timestamptz NOT NULL, completed_at timestamptz NOT NULL, outcome text NOT NULL,
                received_at timestamptz NOT NULL)
            """,
            "CREATE INDEX jobs_submitted ON jobs(submitted_at)",
            "CREATE INDEX jobs_user ON jobs(user_name, submitted_at)",
            "CREATE INDEX jobs_printer ON jobs(printer, submitted_at)",
            "CREATE INDEX jobs_computer ON jobs(computer, submitted_at)",
            """
            CREATE TABLE audit_log (
                id bigserial PRIMARY KEY, at timestamptz NOT NULL, actor text NOT NULL,
                action text NOT NULL, target text NOT NULL, detail text NOT NULL)
            """,
            // Driver packages, so that every instance can serve every driver (DriverBlobMirror).
            "CREATE TABLE driver_blobs (sha256 text PRIMARY KEY, size bigint NOT NULL, chunks integer NOT NULL)",
            """
            CREATE TABLE driver_blob_chunks (
                sha256 text NOT NULL REFERENCES driver_blobs(sha256) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
                chunk integer NOT NULL, data bytea NOT NULL, PRIMARY KEY (sha256, chunk))
            """,
        ]),
        // Only the SHA-256 of a session ID is stored: a copy of the database signs nobody in.
        Migration(name: "v2-console-sessions", statements: [
            """
            CREATE TABLE console_sessions (
                id_hash text PRIMARY KEY, user_name text NOT NULL, created_at timestamptz NOT NULL,
                last_seen_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, idle_seconds double precision NOT NULL)
            """,
            "CREATE INDEX console_sessions_expires ON console_sessions(expires_at)",
        ]),
        // Directory integration (DESIGN.md §4): one row of settings; the bind password only as
        // an AES-GCM box.
        Migration(name: "v2-directory", statements: [
            """
            CREATE TABLE directory_settings (
                id integer PRIMARY KEY CHECK (id = 1), url text NOT NULL, start_tls boolean NOT NULL, ca_pem text,
                base_dn text NOT NULL, bind_dn text NOT NULL, bind_password_sealed bytea NOT NULL, key_id text NOT NULL,
                flavour text NOT NULL, cache_ttl_seconds integer NOT NULL, admin_group_dn text,
                revision bigint NOT NULL, updated_at timestamptz NOT NULL)
            """,
        ]),
        // Pull printing: held jobs' metadata and their release. Other branches add
        // migrations too; each has its own name, so the order they run in does not matter.
        Migration(name: "v2-held-jobs", statements: [
            """
            CREATE TABLE held_jobs (
                job_id text PRIMARY KEY, agent_id text NOT NULL, user_name text NOT NULL, user_key text NOT NULL,
                computer text NOT NULL, printer text NOT NULL, document_name text NOT NULL, pages integer NOT NULL,
                copies integer NOT NULL, color boolean NOT NULL, duplex boolean NOT NULL, bytes bigint NOT NULL,
                protocol text NOT NULL, held_at timestamptz NOT NULL, expires_at timestamptz NOT NULL,
                received_at timestamptz NOT NULL, state text NOT NULL, settled boolean NOT NULL DEFAULT false,
                release_printer text, released_to text, released_at timestamptz, released_by text,
                finished_at timestamptz, failure text)
            """,
            "CREATE INDEX held_jobs_agent ON held_jobs(agent_id, state)",
            "CREATE INDEX held_jobs_user ON held_jobs(user_key, held_at)",
            "CREATE INDEX held_jobs_expiry ON held_jobs(state, expires_at)",
        ]),
        // LAN driver caches (docs/driver-cache.md): each bound to one enrolled agent, whose
        // revocation takes the cache out of plans. Ranges and sites are JSON arrays.
        Migration(name: "v3-driver-caches", statements: [
            """
            CREATE TABLE driver_caches (
                id text PRIMARY KEY, name text NOT NULL UNIQUE, url text NOT NULL,
                agent_id text NOT NULL UNIQUE REFERENCES agents(id), ranges text NOT NULL, sites text NOT NULL,
                created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, certificate_serial text, certificate_not_after timestamptz)
            """,
        ]),
    ]

    /// An arbitrary constant: the advisory lock that serialises migrations across instances.
    static let migrationLock: Int64 = 0x7072_696e_7470_6c61  // "printpla"

    /// Applies the migrations this database has not seen, each in its own transaction, under
    /// an advisory lock, so instances starting together apply each exactly once.
    func migrate() async throws {
        let logger = Logger(label: "printplane.server.database")
        for migration in Self.migrations {
            try await self.client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                // Under the lock: two instances creating it at once would collide in pg_type.
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS printplane_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                    logger: logger)
                let applied = try await connection.query("SELECT 1 FROM printplane_migrations WHERE name = \(migration.name)", logger: logger).collect()
                guard applied.isEmpty else { return }
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO printplane_migrations (name) VALUES (\(migration.name))", logger: logger)
                logger.notice("database migrated", metadata: ["printplane.migration": "\(migration.name)"])
            }
        }
    }
}
