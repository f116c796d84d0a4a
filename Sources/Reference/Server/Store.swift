import Foundation
import PrintplaneCore

/// The control plane's storage, one intent-named method per transaction.
///
/// SQL stays behind this protocol: ``SQLiteStore`` is the embedded implementation; a
/// PostgreSQL one for several server instances implements the same methods. Every
/// admin mutation takes the ``AuditEntry`` to append in the same transaction, so the
/// audit log can never miss an action that happened.
public protocol Store: Sendable {
    // MARK: Enrollment tokens
    func createEnrollmentToken(_ token: EnrollmentTokenRecord, audit: AuditEntry) async throws
    func enrollmentTokens() async throws -> [EnrollmentTokenRecord]
    /// Returns `false` when no such token exists.
    func revokeEnrollmentToken(id: EnrollmentTokenID, at: Date, audit: AuditEntry) async throws -> Bool

    // MARK: Agents
    /// Redeems a token and issues a credential in one transaction: refuses with a
    /// ``TokenRefusal`` or returns the (new or re-used, by machine ID) agent.
    func enroll(tokenHash: String, request: EnrollRequest, credentialHash: String, at: Date) async throws -> Result<AgentRecord, TokenRefusal>
    /// One indexed read: the agent behind a credential hash, with the configuration generation.
    func authenticateAgent(credentialHash: String) async throws -> AgentAuthentication?
    func agents() async throws -> [AgentRecord]
    /// Revokes the agent's credentials. Returns `false` when no such agent exists.
    func revokeAgent(id: AgentID, at: Date, audit: AuditEntry) async throws -> Bool

    // MARK: Configuration (each mutation bumps the generation)
    func createPrinter(_ printer: PrinterRecord, audit: AuditEntry) async throws
    func printers() async throws -> [PrinterRecord]
    func deletePrinter(id: PrinterID, audit: AuditEntry) async throws -> Bool
    /// Points a printer at another driver (or none): how a new driver version is published.
    /// Returns false when the printer does not exist.
    func setPrinterDriver(id: PrinterID, driverID: DriverID?, audit: AuditEntry) async throws -> Bool
    func createProfile(_ profile: ProfileRecord, audit: AuditEntry) async throws
    func profiles() async throws -> [ProfileRecord]
    func deleteProfile(id: ProfileID, audit: AuditEntry) async throws -> Bool
    func createAssignment(_ assignment: Assignment, audit: AuditEntry) async throws
    func assignments() async throws -> [Assignment]
    func deleteAssignment(id: AssignmentID, audit: AuditEntry) async throws -> Bool
    func createDriver(_ driver: DriverRecord, audit: AuditEntry) async throws
    func drivers() async throws -> [DriverRecord]
    func driver(sha256: String) async throws -> DriverRecord?
    /// Everything check-in planning needs, read in one transaction.
    func planningSnapshot() async throws -> PlanningSnapshot

    // MARK: LAN driver caches (each mutation bumps the generation, so plans follow)
    /// Registers a cache bound to an enrolled agent (its credential); 409 on a taken name or
    /// agent, 400 when the agent does not exist.
    func createDriverCache(_ cache: DriverCacheRecord, audit: AuditEntry) async throws
    func driverCaches() async throws -> [DriverCacheRecord]
    /// The cache bound to an agent, if any (the cache routes authenticate with its credential).
    func driverCache(agentID: AgentID) async throws -> DriverCacheRecord?
    /// Replaces a cache's name, URL, agent, ranges and sites. Returns false when there is none.
    func updateDriverCache(_ cache: DriverCacheRecord, audit: AuditEntry) async throws -> Bool
    func deleteDriverCache(id: DriverCacheID, audit: AuditEntry) async throws -> Bool
    /// Notes the certificate the CA signed for a cache (no generation bump: plans do not change).
    func recordDriverCacheCertificate(id: DriverCacheID, serial: String, notAfter: Date, audit: AuditEntry) async throws -> Bool

    // MARK: Directory (the bind password arrives sealed; the store never sees it in clear)
    /// The directory settings (nil when none are configured) and the configuration generation
    /// they were read at, in one transaction.
    func directorySettings() async throws -> (settings: StoredDirectorySettings?, generation: Int64)
    /// Replaces the directory settings and bumps the generation; returns the row as stored,
    /// with its new ``StoredDirectorySettings/revision`` (the generation it bumped to).
    func saveDirectorySettings(_ settings: StoredDirectorySettings, audit: AuditEntry) async throws -> StoredDirectorySettings
    /// Removes the directory settings and bumps the generation; returns the new generation, or
    /// nil when none were configured.
    func deleteDirectorySettings(audit: AuditEntry) async throws -> Int64?

    // MARK: Jobs and reports
    /// Stores new records and ignores known job IDs, committing before it returns.
    func recordJobs(_ jobs: [JobRecord], agentID: AgentID, receivedAt: Date) async throws -> JobIngestResult
    func jobs(matching filter: JobFilter, limit: Int, offset: Int) async throws -> [JobRecord]
    func jobTotals(matching filter: JobFilter) async throws -> JobTotals

    // MARK: Console sessions (the ID itself is never stored, only its SHA-256)
    /// Stores a new session in one transaction with its audit entry, deleting the session
    /// `replacing` names (the one presented at sign-in, so an ID planted before sign-in is
    /// worthless after it) and every session already past its expiry.
    func createConsoleSession(_ session: ConsoleSessionRecord, replacing: String?, audit: AuditEntry) async throws
    /// The session with this ID hash, expired or not; `nil` if there is none.
    func consoleSession(idHash: String) async throws -> ConsoleSessionRecord?
    /// Moves the session's idle clock to `at`.
    func touchConsoleSession(idHash: String, at: Date) async throws
    /// Ends a session (sign-out, or found expired). Returns `false` when there was none.
    func deleteConsoleSession(idHash: String, audit: AuditEntry?) async throws -> Bool
    // MARK: Pull printing (metadata only: documents stay on the workstations)
    /// Registers held jobs and ignores known job IDs, committing before it returns. Each
    /// expiry is capped at `maximumHold` after the hold and after `receivedAt`. A job whose
    /// record is already in `jobs` is registered in the state that record says; one already
    /// past its expiry is registered `expired`. In the same transaction, ``recordJobs(_:agentID:receivedAt:)``
    /// moves a held job to the state of its newly stored record (printed, failed, cancelled,
    /// expired), whatever it was: the workstation's record is what happened to the document.
    func registerHeldJobs(_ jobs: [HeldJobRegistration], agentID: AgentID, receivedAt: Date, maximumHold: TimeInterval) async throws -> HeldJobIngestResult
    /// A user's held jobs, newest first; `states` nil means every state. Users compare
    /// case-insensitively.
    func heldJobs(user: String, states: Set<HeldJobState>?, limit: Int) async throws -> [HeldJobStatus]
    /// One held job of `user` and the agent holding its document; nil when `user` has no such job.
    func heldJob(id: JobID, user: String) async throws -> (status: HeldJobStatus, agentID: AgentID)?
    /// Releases a held job of `user` to `printer`: one conditional update (held, not expired
    /// at `at`), so of two releases at once exactly one wins. Audited in the same transaction.
    func releaseHeldJob(id: JobID, user: String, printer: PlannedPrinter, at: Date, audit: AuditEntry) async throws -> HeldJobChange
    /// Cancels a held or released (not yet printed) job of `user`. Audited in the same transaction.
    func cancelHeldJob(id: JobID, user: String, at: Date, audit: AuditEntry) async throws -> HeldJobChange
    /// The releases and cancellations the agent has not reported an outcome for.
    func pendingReleases(agentID: AgentID) async throws -> PendingReleases
    /// Marks held and released jobs whose expiry is at or before `at` as expired; returns how many.
    func expireHeldJobs(at: Date) async throws -> Int
    /// Held jobs by state; the filter's times apply to the hold time.
    func heldJobTotals(matching filter: JobFilter) async throws -> HeldJobTotals

    // MARK: Audit and health
    /// Appends an entry for an event that writes nothing else (a refused console sign-in).
    func appendAudit(_ entry: AuditEntry) async throws
    func auditEntries(limit: Int, offset: Int) async throws -> [AuditRecord]
    /// Whether the database answers a trivial query.
    func isReady() async -> Bool
}

/// An enrollment token as stored: its hash, never the token.
public struct EnrollmentTokenRecord: Codable, Sendable, Hashable {
    public var id: EnrollmentTokenID
    public var tokenHash: String
    public var label: String?
    public var createdAt: Date
    public var expiresAt: Date?
    public var maxUses: Int?
    public var uses: Int
    public var revokedAt: Date?

    public init(id: EnrollmentTokenID, tokenHash: String, label: String?, createdAt: Date, expiresAt: Date?, maxUses: Int?, uses: Int = 0, revokedAt: Date? = nil) {
        self.id = id
        self.tokenHash = tokenHash
        self.label = label
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.maxUses = maxUses
        self.uses = uses
        self.revokedAt = revokedAt
    }

    /// Why the token would be refused at `now`, or `nil` if it is usable.
    public func refusal(at now: Date) -> TokenRefusal? {
        if self.revokedAt != nil { return .tokenRevoked }
        if let expiresAt = self.expiresAt, now >= expiresAt { return .tokenExpired }
        if let maxUses = self.maxUses, self.uses >= maxUses { return .tokenExhausted }
        return nil
    }

    /// The state shown in listings: `active`, `expired`, `revoked` or `exhausted`.
    public func state(at now: Date) -> String {
        switch self.refusal(at: now) {
        case nil: return "active"
        case .tokenRevoked: return "revoked"
        case .tokenExpired: return "expired"
        case .tokenExhausted: return "exhausted"
        case .tokenUnknown: return "unknown"
        }
    }
}

/// An enrolled workstation.
public struct AgentRecord: Codable, Sendable, Hashable {
    public var id: AgentID
    public var machineID: String
    public var hostname: String
    public var os: String
    public var agentVersion: String
    public var enrolledAt: Date
    public var revokedAt: Date?

    public init(id: AgentID, machineID: String, hostname: String, os: String, agentVersion: String, enrolledAt: Date, revokedAt: Date?) {
        self.id = id
        self.machineID = machineID
        self.hostname = hostname
        self.os = os
        self.agentVersion = agentVersion
        self.enrolledAt = enrolledAt
        self.revokedAt = revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, hostname, os
        case machineID = "machine_id"
        case agentVersion = "agent_version"
        case enrolledAt = "enrolled_at"
        case revokedAt = "revoked_at"
    }
}

/// The result of looking up a device credential.
public struct AgentAuthentication: Sendable, Hashable {
    public var agentID: AgentID
    public var hostname: String
    public var credentialRevoked: Bool
    /// The configuration generation at read time; plans are cached per generation.
    public var generation: Int64

    /// Whether releases or cancellations wait for this agent (read in the same query, so a
    /// check-in with none pays nothing for pull printing).
    public var hasPendingReleases: Bool

    public init(agentID: AgentID, hostname: String, credentialRevoked: Bool, generation: Int64, hasPendingReleases: Bool = false) {
        self.agentID = agentID
        self.hostname = hostname
        self.credentialRevoked = credentialRevoked
        self.generation = generation
        self.hasPendingReleases = hasPendingReleases
    }
}

/// A network printer.
public struct PrinterRecord: Codable, Sendable, Hashable {
    public var id: PrinterID
    public var name: String
    public var address: String
    public var `protocol`: PrinterProtocol
    public var port: Int
    public var queue: String?
    public var location: String?
    public var site: String?
    public var driverID: DriverID?

    public init(id: PrinterID, name: String, address: String, protocol: PrinterProtocol, port: Int, queue: String?, location: String?, site: String?, driverID: DriverID?) {
        self.id = id
        self.name = name
        self.address = address
        self.protocol = `protocol`
        self.port = port
        self.queue = queue
        self.location = location
        self.site = site
        self.driverID = driverID
    }

    enum CodingKeys: String, CodingKey {
        case id, name, address, `protocol`, port, queue, location, site
        case driverID = "driver_id"
    }
}

/// A named print profile.
public struct ProfileRecord: Codable, Sendable, Hashable {
    public var id: ProfileID
    public var name: String
    public var profile: PrintProfile

    public init(id: ProfileID, name: String, profile: PrintProfile) {
        self.id = id
        self.name = name
        self.profile = profile
    }
}

/// A stored driver package: its signed manifest; the bytes live in the repository by sha256.
public struct DriverRecord: Codable, Sendable, Hashable {
    public var id: DriverID
    public var manifest: SignedDriverManifest
    public var createdAt: Date

    public init(id: DriverID, manifest: SignedDriverManifest, createdAt: Date) {
        self.id = id
        self.manifest = manifest
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, manifest
        case createdAt = "created_at"
    }
}

/// Everything the planner reads, consistent as of one ``generation``.
public struct PlanningSnapshot: Sendable {
    public var generation: Int64
    public var printers: [PrinterID: PrinterRecord]
    public var profiles: [ProfileID: ProfileRecord]
    public var drivers: [DriverID: DriverRecord]
    public var assignments: [Assignment] {
        didSet { self.usesDirectoryTargets = Self.usesDirectory(self.assignments) }
    }
    /// Whether any assignment targets an AD group or OU, so planning needs directory facts
    /// (worked out once per snapshot, not per check-in).
    public private(set) var usesDirectoryTargets: Bool
    /// The directory settings of this generation (so every server instance follows a change).
    public var directory: StoredDirectorySettings?
    /// The LAN driver caches agents may use: those whose bound agent is not revoked.
    public var driverCaches: [DriverCacheRoute]

    public init(
        generation: Int64, printers: [PrinterID: PrinterRecord], profiles: [ProfileID: ProfileRecord], drivers: [DriverID: DriverRecord],
        assignments: [Assignment], directory: StoredDirectorySettings?, driverCaches: [DriverCacheRoute] = []
    ) {
        self.driverCaches = driverCaches
        self.generation = generation
        self.printers = printers
        self.profiles = profiles
        self.drivers = drivers
        self.assignments = assignments
        self.usesDirectoryTargets = Self.usesDirectory(assignments)
        self.directory = directory
    }

    private static func usesDirectory(_ assignments: [Assignment]) -> Bool {
        assignments.contains { $0.target.kind.needsDirectory }
    }
}

/// The directory settings as stored: the bind password only as an AES-GCM box (see
/// ``DirectorySecretBox``), never in clear.
public struct StoredDirectorySettings: Sendable, Hashable {
    public var url: String
    public var startTLS: Bool
    public var caPEM: String?
    public var baseDN: String
    public var bindDN: String
    /// nonce ‖ ciphertext ‖ tag.
    public var sealedBindPassword: [UInt8]
    /// Which key sealed it (first 8 bytes of the key's SHA-256, hex).
    public var keyID: String
    public var flavour: String
    public var cacheTTLSeconds: Int
    public var adminGroupDN: String?
    /// Changes with every save; set by the store (the configuration generation it bumped to).
    public var revision: Int64
    public var updatedAt: Date

    public init(
        url: String, startTLS: Bool, caPEM: String?, baseDN: String, bindDN: String, sealedBindPassword: [UInt8], keyID: String,
        flavour: String, cacheTTLSeconds: Int, adminGroupDN: String?, revision: Int64 = 0, updatedAt: Date
    ) {
        self.url = url
        self.startTLS = startTLS
        self.caPEM = caPEM
        self.baseDN = baseDN
        self.bindDN = bindDN
        self.sealedBindPassword = sealedBindPassword
        self.keyID = keyID
        self.flavour = flavour
        self.cacheTTLSeconds = cacheTTLSeconds
        self.adminGroupDN = adminGroupDN
        self.revision = revision
        self.updatedAt = updatedAt
    }
}

/// What a batch did.
public struct JobIngestResult: Sendable, Hashable {
    public var accepted: [JobID]
    public var duplicates: [JobID]
}

/// What a registration batch did, and the expiry kept for each acknowledged job.
public struct HeldJobIngestResult: Sendable, Hashable {
    public var accepted: [JobID]
    public var duplicates: [JobID]
    public var expiresAt: [JobID: Date]

    public init(accepted: [JobID] = [], duplicates: [JobID] = [], expiresAt: [JobID: Date] = [:]) {
        self.accepted = accepted
        self.duplicates = duplicates
        self.expiresAt = expiresAt
    }
}

/// The answer of a release or cancel.
public enum HeldJobChange: Sendable, Hashable {
    /// Done; the job as it is now, and the agent that holds its document (to wake).
    case changed(HeldJobStatus, agentID: AgentID)
    /// No such job for this user (another user's job is not revealed).
    case notFound
    /// The job is not in a state that allows it (or, for a release, it has expired); as it is.
    case refused(HeldJobStatus)
}

/// Report filters; `nil` fields do not filter.
public struct JobFilter: Sendable, Hashable {
    public var from: Date?
    public var to: Date?
    public var user: String?
    public var printer: String?
    public var computer: String?

    public init(from: Date? = nil, to: Date? = nil, user: String? = nil, printer: String? = nil, computer: String? = nil) {
        self.from = from
        self.to = to
        self.user = user
        self.printer = printer
        self.computer = computer
    }
}

/// Report totals. Pages count sheets' faces times copies, for printed jobs only.
public struct JobTotals: Codable, Sendable, Hashable {
    public var jobs: Int
    public var pages: Int
    public var colorPages: Int
    /// `colorPages / pages`, 0 when there are no pages.
    public var colorShare: Double

    enum CodingKeys: String, CodingKey {
        case jobs, pages
        case colorPages = "color_pages"
        case colorShare = "color_share"
    }
}

/// A signed-in console session as stored: the SHA-256 of its ID (the cookie), never the ID.
public struct ConsoleSessionRecord: Sendable, Hashable {
    /// Lowercase hex SHA-256 of the session ID.
    public var idHash: String
    /// Who signed in, as ``ConsoleUser/name`` says (the audit log's actor).
    public var user: String
    public var createdAt: Date
    /// The last request seen; the session ends `idleTimeout` after it.
    public var lastSeenAt: Date
    /// The absolute end, however active the session is.
    public var expiresAt: Date
    /// Seconds of inactivity after which the session ends.
    public var idleTimeout: TimeInterval

    public init(idHash: String, user: String, createdAt: Date, lastSeenAt: Date, expiresAt: Date, idleTimeout: TimeInterval) {
        self.idHash = idHash
        self.user = user
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
        self.idleTimeout = idleTimeout
    }

    /// Whether the session may still be used at `now` (neither idle nor past its absolute end).
    public func isValid(at now: Date) -> Bool {
        now < self.expiresAt && now < self.lastSeenAt.addingTimeInterval(self.idleTimeout)
    }
}

/// Who did what, to be appended with an admin action.
public struct AuditEntry: Sendable, Hashable {
    public var at: Date
    /// The admin identity (key hint) and peer address.
    public var actor: String
    /// A dotted verb, e.g. `token.create`.
    public var action: String
    /// The object's ID or name.
    public var target: String
    /// A short JSON or text detail, never a secret.
    public var detail: String

    public init(at: Date, actor: String, action: String, target: String, detail: String = "") {
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.detail = detail
    }
}

/// A stored audit entry.
public struct AuditRecord: Codable, Sendable, Hashable {
    public var id: Int64
    public var at: Date
    public var actor: String
    public var action: String
    public var target: String
    public var detail: String
}
