import Foundation
import LDAP
import Logging
import NIOConcurrencyHelpers
import PrintplaneCore

/// The server's view of the directory (DESIGN.md §4): read-only lookups of users' and
/// computers' group memberships and OUs for targeting, AD logins for the admin console, and the
/// admin's settings test, lookup and search.
///
/// - Lookups go through an ``LDAPConnectionPool`` bound as the service account; the server
///   never writes to the directory.
/// - Facts for check-ins are cached per (user, computer) for the configured TTL, concurrent
///   misses share one lookup, and a failed lookup serves the last known facts.
/// - After a failure, check-in lookups back off (1 s doubling to 60 s) and answer from the
///   cache or fail fast, so a dead domain controller is not asked once per check-in.
/// - Settings come from the ``Store`` (the password sealed by ``DirectorySecretBox``); every
///   server instance follows a change through the configuration generation.
public final class DirectoryService: Sendable {
    /// Limits that rarely need changing.
    public struct Options: Sendable {
        /// Most (user, computer) keys cached at once.
        public var maximumCachedLookups = 100_000
        /// Service-account connections kept open.
        public var poolSize = 4
        /// The longest pause between lookups after failures.
        public var maximumBackoffSeconds: Double = 60

        public init() {}
    }

    /// The directory as configured right now: settings, pool, cache and health.
    final class Active: Sendable {
        let settings: DirectorySettings
        let revision: Int64
        let pool: LDAPConnectionPool
        let cache: DirectoryFactsCache
        let detected = NIOLockedValueBox<QueriesBase?>(nil)
        let health = NIOLockedValueBox(Health())

        init(settings: DirectorySettings, revision: Int64, pool: LDAPConnectionPool, cache: DirectoryFactsCache) {
            self.settings = settings
            self.revision = revision
            self.pool = pool
            self.cache = cache
        }
    }

    /// What the RootDSE told us, once per configuration.
    struct QueriesBase: Sendable {
        var flavour: DirectoryFlavour
        var namingContext: String?
    }

    struct Health: Sendable {
        var consecutiveFailures = 0
        var retryAt: Date?
        var lastError: DirectoryError?
        var lastSuccess: Date?
    }

    private enum Configuration: Sendable {
        case none
        case active(Active)
        case broken(revision: Int64, DirectoryError)
    }

    private struct State: Sendable {
        var observedGeneration: Int64 = .min
        var configuration: Configuration = .none
    }

    private let store: any Store
    /// Seals and opens the bind password.
    public let secrets: DirectorySecretBox
    private let clock: @Sendable () -> Date
    private let metrics: ServerMetrics
    private let logger: Logger
    private let options: Options
    private let state = NIOLockedValueBox(State())

    public init(
        store: any Store, secrets: DirectorySecretBox, clock: @escaping @Sendable () -> Date = { Date() }, metrics: ServerMetrics = ServerMetrics(),
        logger: Logger = Logger(label: "printplane.server.directory"), options: Options = Options()
    ) {
        self.store = store
        self.secrets = secrets
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        self.options = options
    }

    // MARK: Configuration

    /// Whether directory settings are stored (even if they cannot be used right now).
    public var isConfigured: Bool {
        self.state.withLockedValue { state in
            if case .none = state.configuration { return false }
            return true
        }
    }

    private var current: Configuration { self.state.withLockedValue { $0.configuration } }

    /// The active configuration, or the error that says why there is none.
    private func active() throws -> Active {
        switch self.current {
        case .none: throw DirectoryError.notConfigured
        case .broken(_, let error): throw error
        case .active(let active): return active
        }
    }

    /// Reads the settings from the store and applies them if they changed.
    public func refresh() async throws {
        let (settings, generation) = try await self.store.directorySettings()
        await self.synchronize(with: settings, generation: generation)
    }

    /// Applies `stored` as read at `generation`, unless something newer was applied already.
    /// A changed configuration gets a new pool and an empty cache; the old pool is closed.
    func synchronize(with stored: StoredDirectorySettings?, generation: Int64) async {
        let replaced: Active? = self.state.withLockedValue { state in
            guard generation > state.observedGeneration else { return nil }
            state.observedGeneration = generation
            let currentRevision: Int64?
            switch state.configuration {
            case .none: currentRevision = nil
            case .active(let active): currentRevision = active.revision
            case .broken(let revision, _): currentRevision = revision
            }
            guard currentRevision != stored?.revision else { return nil }
            let previous: Active?
            if case .active(let active) = state.configuration { previous = active } else { previous = nil }
            guard let stored else {
                state.configuration = .none
                self.logger.notice("directory integration off")
                return previous
            }
            do {
                let settings = try DirectorySettings(stored: stored, secrets: self.secrets)
                let pool = LDAPConnectionPool(
                    configuration: try settings.clientConfiguration(), credentials: .init(name: settings.bindDN, password: settings.bindPassword),
                    maximumConnections: self.options.poolSize, logger: self.logger)
                state.configuration = .active(Active(settings: settings, revision: stored.revision, pool: pool, cache: DirectoryFactsCache(maximumEntries: self.options.maximumCachedLookups)))
                self.logger.notice("directory configured", metadata: [
                    "printplane.directory.url": "\(settings.url)", "printplane.directory.transport": "\(settings.transportName)",
                    "printplane.directory.base_dn": "\(settings.baseDN)", "printplane.directory.flavour": "\(settings.flavour.rawValue)",
                    "printplane.directory.cache_ttl_s": "\(settings.cacheTTLSeconds)",
                ])
            } catch {
                let problem = DirectoryError.classify(error, stage: "configuration", endpoint: stored.url)
                state.configuration = .broken(revision: stored.revision, problem)
                self.logger.error("directory settings cannot be used", metadata: ["printplane.error": "\(problem)"])
            }
            return previous
        }
        if let replaced { await replaced.pool.close() }
    }

    /// Closes the service-account connections (on server shutdown).
    public func shutdown() async {
        if case .active(let active) = self.current { await active.pool.close() }
    }

    // MARK: Facts for check-ins

    /// The directory facts for a check-in, from the cache when fresh. Throws a
    /// ``DirectoryError`` for which ``DirectoryError/isUnavailability`` holds when the directory
    /// cannot be asked and nothing is cached for this user and computer.
    public func facts(user: String?, computer: String) async throws -> DirectoryFacts {
        try await self.cachedFacts(user: user, computer: computer).entry.facts
    }

    func cachedFacts(user: String?, computer: String) async throws -> DirectoryFactsCache.Answer {
        let active = try self.active()
        let key = DirectoryFactsCache.Key(user: user, computer: computer)
        let answer = try await active.cache.facts(for: key, ttl: TimeInterval(active.settings.cacheTTLSeconds), now: self.clock) {
            let started = ContinuousClock.now
            let facts = try await self.lookUpForCache(active, key: key)
            self.metrics.directoryLookupDuration.recordNanoseconds(Self.nanoseconds(since: started))
            return facts
        }
        switch answer.source {
        case .hit: self.metrics.directoryCacheHits.increment()
        case .shared: self.metrics.directorySharedLookups.increment()
        case .stale:
            self.metrics.directoryStaleServed.increment()
            self.logger.warning("directory unavailable; serving cached facts", metadata: [
                "printplane.directory.user": "\(key.user ?? "-")", "printplane.directory.computer": "\(key.computer)",
                "printplane.directory.fetched_at": "\(answer.entry.fetchedAt)",
            ])
        case .loaded:
            self.metrics.directoryCacheEntries.record(active.cache.count)
        }
        return answer
    }

    /// One lookup for the cache, unless recent failures say to wait.
    private func lookUpForCache(_ active: Active, key: DirectoryFactsCache.Key) async throws -> DirectoryFacts {
        let now = self.clock()
        if let retryAt = active.health.withLockedValue({ $0.retryAt }), now < retryAt {
            let last = active.health.withLockedValue { $0.lastError }
            throw DirectoryError.unavailable("The directory failed recently (\(last?.message ?? "unknown error")); the next attempt is after \(retryAt).")
        }
        self.metrics.directoryLookups.increment()
        do {
            let facts = try await self.resolve(active, user: key.user, computer: key.computer)
            active.health.withLockedValue { health in
                health = Health(lastSuccess: self.clock())
            }
            return facts
        } catch {
            let problem = DirectoryError.classify(error, stage: "lookup", endpoint: active.settings.url.endpoint)
            self.metrics.directoryErrors.increment()
            let backoff = active.health.withLockedValue { health -> Double in
                health.consecutiveFailures += 1
                let seconds = min(self.options.maximumBackoffSeconds, pow(2, Double(health.consecutiveFailures - 1)))
                health.retryAt = self.clock().addingTimeInterval(seconds)
                health.lastError = problem
                return seconds
            }
            self.logger.warning("directory lookup failed", metadata: [
                "printplane.error": "\(problem)", "printplane.directory.backoff_s": "\(backoff)",
            ])
            throw problem
        }
    }

    /// Resolves the facts from the directory, without the cache.
    private func resolve(_ active: Active, user: String?, computer: String?) async throws -> DirectoryFacts {
        let queries = try await self.queries(active)
        return try await active.pool.withConnection { connection in
            var userFacts: DirectoryAccountFacts?
            if let user, let entry = try await queries.findUser(user, on: connection), let dn = try? DistinguishedName(entry.objectName) {
                userFacts = DirectoryAccountFacts(dn: dn.tidied, groups: try await queries.groups(of: dn, on: connection))
            }
            var computerFacts: DirectoryAccountFacts?
            if let computer, let entry = try await queries.findComputer(computer, on: connection), let dn = try? DistinguishedName(entry.objectName) {
                computerFacts = DirectoryAccountFacts(dn: dn.tidied, groups: try await queries.groups(of: dn, on: connection))
            }
            return DirectoryFacts(user: userFacts, computer: computerFacts)
        }
    }

    /// The queries for the configured flavour, reading the RootDSE once when it is `auto`.
    private func queries(_ active: Active) async throws -> DirectoryQueries {
        let base: QueriesBase
        if let known = active.detected.withLockedValue({ $0 }) {
            base = known
        } else {
            let root = try await active.pool.withConnection { try await DirectoryQueries.rootDSE(on: $0) }
            let flavour: DirectoryFlavour = active.settings.flavour == .auto ? (root.isActiveDirectory ? .activeDirectory : .generic) : active.settings.flavour
            base = QueriesBase(flavour: flavour, namingContext: root.namingContext)
            active.detected.withLockedValue { $0 = base }
            self.logger.info("directory flavour", metadata: ["printplane.directory.flavour": "\(flavour.rawValue)", "printplane.directory.naming_context": "\(root.namingContext ?? "-")"])
        }
        return DirectoryQueries(baseDN: active.settings.baseDN, flavour: base.flavour, logger: self.logger)
    }

    // MARK: Admin: status, lookup, search, test

    /// What GET /admin/directory shows besides the settings.
    public struct Status: Sendable, Codable, Hashable {
        /// `ok` (the last lookup worked), `failing` (it failed), `unknown` (none yet),
        /// `unusable` (the stored settings cannot be used, e.g. the key changed), `off`.
        public var state: String
        public var detectedFlavour: String?
        public var namingContext: String?
        public var lastError: String?
        public var cachedLookups: Int

        enum CodingKeys: String, CodingKey {
            case state
            case detectedFlavour = "detected_flavour"
            case namingContext = "naming_context"
            case lastError = "last_error"
            case cachedLookups = "cached_lookups"
        }
    }

    /// The health of the configured directory as check-ins see it.
    public var status: Status {
        switch self.current {
        case .none:
            return Status(state: "off", cachedLookups: 0)
        case .broken(_, let error):
            return Status(state: "unusable", lastError: error.message, cachedLookups: 0)
        case .active(let active):
            let health = active.health.withLockedValue { $0 }
            let detected = active.detected.withLockedValue { $0 }
            let state = health.lastError != nil ? "failing" : (health.lastSuccess != nil ? "ok" : "unknown")
            return Status(
                state: state, detectedFlavour: detected?.flavour.rawValue, namingContext: detected?.namingContext,
                lastError: health.lastError?.message, cachedLookups: active.cache.count)
        }
    }

    /// What the directory says about `user` and `computer` right now (never the cache).
    public func lookup(user: String?, computer: String?) async throws -> DirectoryLookup {
        try await self.refresh()
        let active = try self.active()
        let started = ContinuousClock.now
        do {
            let queries = try await self.queries(active)
            let facts = try await self.resolve(active, user: user, computer: computer)
            func account(_ query: String?, _ facts: DirectoryAccountFacts?) -> DirectoryLookup.Account? {
                guard let query else { return nil }
                return DirectoryLookup.Account(
                    query: query, found: facts != nil, dn: facts?.dn.description, groups: (facts?.groups ?? []).map(\.description).sorted(),
                    containers: facts?.containers.map(\.description) ?? [])
            }
            return DirectoryLookup(
                flavour: queries.flavour.rawValue, user: account(user, facts.user), computer: account(computer, facts.computer),
                elapsedMilliseconds: Int(Self.nanoseconds(since: started) / 1_000_000))
        } catch {
            throw DirectoryError.classify(error, stage: "lookup", endpoint: active.settings.url.endpoint)
        }
    }

    /// Groups or OUs an admin can target, by name.
    public func search(_ kind: DirectorySearchKind, text: String, limit: Int, offset: Int) async throws -> DirectorySearchPage {
        try await self.refresh()
        let active = try self.active()
        do {
            let queries = try await self.queries(active)
            let (items, more) = try await active.pool.withConnection { connection in
                try await queries.browse(kind, text: text, limit: limit, offset: offset, on: connection)
            }
            return DirectorySearchPage(kind: kind, query: text, items: items, limit: limit, offset: offset, nextOffset: more ? offset + items.count : nil)
        } catch {
            throw DirectoryError.classify(error, stage: "search", endpoint: active.settings.url.endpoint)
        }
    }

    /// Tries `settings` on a connection of its own: connect (and TLS), bind as the service
    /// account, read the RootDSE, find the base DN. Never throws: the report says what failed.
    public func test(_ settings: DirectorySettings) async -> DirectoryTestReport {
        let started = ContinuousClock.now
        var report = DirectoryTestReport(
            ok: false, transport: settings.transportName, baseDN: settings.baseDN.description, elapsedMilliseconds: 0, warnings: settings.warnings)
        var stage = "connect"
        var connection: LDAPConnection?
        do {
            let opened = try await LDAPConnection.connect(configuration: try settings.clientConfiguration(), logger: self.logger)
            connection = opened
            stage = "bind"
            try await opened.bind(name: settings.bindDN, password: settings.bindPassword)
            stage = "root_dse"
            let root = try await DirectoryQueries.rootDSE(on: opened)
            report.detectedFlavour = (root.isActiveDirectory ? DirectoryFlavour.activeDirectory : .generic).rawValue
            report.flavour = settings.flavour == .auto ? report.detectedFlavour : settings.flavour.rawValue
            report.namingContext = root.namingContext
            report.vendor = root.vendor
            stage = "base_dn"
            do {
                _ = try await opened.search(SearchRequest(baseObject: settings.baseDN.description, scope: .baseObject, filter: .objectClassPresent, attributes: ["1.1"]))
            } catch let error as LDAPClientError where DirectoryError.resultCode(of: error) == .noSuchObject {
                throw DirectoryError.baseDNNotFound("The base DN \(settings.baseDN) does not exist on the server\(root.namingContext.map { " (its naming context is \($0))" } ?? "").")
            }
            report.ok = true
        } catch {
            let problem = DirectoryError.classify(error, stage: stage, endpoint: settings.url.endpoint)
            report.stage = problem.reason == "directory_tls_failed" ? "tls" : stage
            report.reason = problem.reason
            report.message = problem.message
        }
        if let connection { await connection.close() }
        report.elapsedMilliseconds = Int(Self.nanoseconds(since: started) / 1_000_000)
        return report
    }

    // MARK: Logins

    /// Authenticates a user against the directory, for the admin console: finds the user with
    /// the service account, binds as the user's DN on a separate connection that is never
    /// pooled, and reports whether the user is a (nested) member of the admin group.
    ///
    /// - Refuses an empty password without asking the directory: a simple bind with a name and
    ///   no password is an unauthenticated bind, which many servers answer with success
    ///   (RFC 4513 §5.1.2).
    /// - Refuses disabled AD accounts (userAccountControl bit 0x2) before binding.
    /// - An unknown user and a wrong password get the same ``DirectoryError/invalidCredentials``.
    /// - Throws an unavailability error (``DirectoryError/isUnavailability``) when the
    ///   directory cannot be asked.
    public func authenticate(user: String, password: String) async throws -> DirectoryPrincipal {
        guard !password.isEmpty else { throw DirectoryError.emptyPassword }
        try await self.refresh()
        let active = try self.active()
        let endpoint = active.settings.url.endpoint
        let queries: DirectoryQueries
        let found: SearchResultEntry?
        do {
            queries = try await self.queries(active)
            found = try await active.pool.withConnection { try await queries.findUser(user, on: $0, attributes: DirectoryQueries.accountAttributes) }
        } catch {
            throw DirectoryError.classify(error, stage: "search", endpoint: endpoint)
        }
        guard let entry = found, !entry.objectName.isEmpty, let dn = try? DistinguishedName(entry.objectName), dn.validationProblem == nil else {
            throw DirectoryError.invalidCredentials
        }
        if let control = entry.strings(of: "userAccountControl").first.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }), control & 0x2 != 0 {
            throw DirectoryError.accountDisabled
        }
        let connection: LDAPConnection
        do {
            connection = try await LDAPConnection.connect(configuration: try active.settings.clientConfiguration(), logger: self.logger)
        } catch {
            throw DirectoryError.classify(error, stage: "connect", endpoint: endpoint)
        }
        do {
            try await connection.bind(name: entry.objectName, password: password)
            await connection.close()
        } catch let error as LDAPClientError where DirectoryError.resultCode(of: error) == .invalidCredentials {
            await connection.close()
            // AD says why in its diagnostic: data 533 is a disabled account, 775 a locked one.
            if DirectoryError.isDisabledAccount(error) { throw DirectoryError.accountDisabled }
            throw DirectoryError.invalidCredentials
        } catch {
            await connection.close()
            throw DirectoryError.classify(error, stage: "user bind", endpoint: endpoint)
        }
        let groups: Set<DistinguishedName>
        do {
            groups = try await active.pool.withConnection { try await queries.groups(of: dn, on: $0) }
        } catch {
            throw DirectoryError.classify(error, stage: "group lookup", endpoint: endpoint)
        }
        let accountName = entry.strings(of: queries.flavour == .generic ? "uid" : "sAMAccountName").first ?? dn.rdns.first?.first?.value ?? user
        return DirectoryPrincipal(
            dn: dn.tidied, accountName: accountName, userPrincipalName: entry.strings(of: "userPrincipalName").first,
            displayName: entry.strings(of: "displayName").first ?? entry.strings(of: "cn").first, email: entry.strings(of: "mail").first,
            groups: groups, isAdmin: active.settings.adminGroupDN.map { groups.contains($0) } ?? false)
    }

    private static func nanoseconds(since start: ContinuousClock.Instant) -> Int64 {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }
}
