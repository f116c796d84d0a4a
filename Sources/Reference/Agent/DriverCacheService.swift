import AsyncAlgorithms
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PrintplaneCore
import PrintplaneHTTP
import ServiceLifecycle

/// The LAN driver cache (`printplane cache run`, docs/driver-cache.md): a workstation-side
/// device, enrolled like an agent, that fetches each driver package from the cloud once over
/// HTTPS, verifies it, keeps it, and serves it to the agents of its LAN.
///
/// - **The cloud is the authority.** The cache serves only digests the cloud lists
///   (`GET /api/v1/cache/manifests`) with a manifest whose Ed25519 signature verifies under
///   the key the cloud gave at enrollment, and only bytes whose SHA-256 and size match it.
///   A package is verified in full before its first byte is served; one that fails is
///   deleted, logged and answered 502, so agents go to the cloud. Agents verify again anyway.
/// - **One fetch per package.** Concurrent misses for one digest wait on one upstream fetch.
/// - **Works without the cloud** for what it holds: hits never touch the cloud, and the last
///   list is kept on disk for a restart.
/// - **Revocable like any device.** Once the cloud refuses its credential the cache serves
///   nothing (502 `credential_refused`), and the cloud drops it from every plan.
/// - **TLS agents trust** via ``DriverCacheTLS``.
public final class DriverCacheService: Service {
    enum Job: Sendable {
        case fetch(String)
        case refresh
    }

    /// The key under which list refreshes are shared (never a digest: those are hex).
    static let listKey = "#list"

    public let configuration: DriverCacheConfiguration
    public let metrics = DriverCacheMetrics()
    let identity: AgentIdentity
    let publicKey: Curve25519.Signing.PublicKey
    let index: DriverCacheIndex
    let fetches = DriverCacheFetches()
    let tls: DriverCacheTLS
    let responder: DriverDownloadResponder
    let logger: Logger
    /// How to reach the cloud: the CA to trust (a transport of our own, made by ``run()`` and
    /// shut down when it ends), or a transport someone else owns (the simulator's pool).
    private let link: Link
    private let upstreamBox = NIOLockedValueBox<(any DriverCacheUpstream)?>(nil)
    private let jobs: AsyncStream<Job>
    private let jobSink: AsyncStream<Job>.Continuation
    private let port = NIOLockedValueBox<Int?>(nil)

    private enum Link: Sendable {
        case own(caPEM: String)
        case shared(any AgentHTTPTransport)
    }

    /// A cache from its enrolled state directory: the credential, the CA and the key the
    /// cloud gave at enrollment (`printplane cache enroll`).
    public convenience init(configuration: DriverCacheConfiguration, logger: Logger) throws {
        let store = try FileAgentStateStore(directory: configuration.stateDirectory)
        guard let identity = try Self.loadIdentity(store) else { throw DriverCacheError.notEnrolled(configuration.stateDirectory) }
        guard let caPEM = FileManager.default.contents(atPath: configuration.caPath).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw DriverCacheError.notEnrolled(configuration.stateDirectory)
        }
        try self.init(configuration: configuration, identity: identity, link: .own(caPEM: caPEM), logger: logger)
    }

    /// A cache over a given transport (the simulator's pool), which the caller shuts down.
    public convenience init(configuration: DriverCacheConfiguration, identity: AgentIdentity, http: any AgentHTTPTransport, logger: Logger) throws {
        try self.init(configuration: configuration, identity: identity, link: .shared(http), logger: logger)
    }

    private init(configuration: DriverCacheConfiguration, identity: AgentIdentity, link: Link, logger: Logger) throws {
        guard let publicKey = Curve25519.Signing.PublicKey(base64: identity.driverSigningPublicKey) else {
            throw DriverCacheError.configuration("the stored driver-signing key is not a base64 Ed25519 public key; enroll again")
        }
        try FileManager.default.createDirectory(atPath: configuration.driversDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        self.configuration = configuration
        self.identity = identity
        self.publicKey = publicKey
        self.logger = logger
        self.link = link
        self.index = DriverCacheIndex(configuration: configuration, publicKey: publicKey, logger: logger)
        self.tls = DriverCacheTLS(configuration: configuration, logger: logger)
        self.responder = DriverDownloadResponder(limiter: DownloadLimiter(limit: configuration.maxConcurrentDownloads), cacheControl: "public, max-age=31536000, immutable")
        (self.jobs, self.jobSink) = AsyncStream.makeStream(of: Job.self)
    }

    /// The stored identity, read without the async store API (the file store's is synchronous underneath).
    private static func loadIdentity(_ store: FileAgentStateStore) throws -> AgentIdentity? {
        guard let data = FileManager.default.contents(atPath: store.credentialPath) else { return nil }
        do {
            return try WireCoding.makeDecoder().decode(AgentIdentity.self, from: data)
        } catch {
            throw DriverCacheError.configuration("\(store.credentialPath) is not a readable credential (\(error)); enroll again")
        }
    }

    /// The cloud, once ``run()`` has connected.
    var upstream: any DriverCacheUpstream {
        get throws {
            guard let upstream = self.upstreamBox.withLockedValue({ $0 }) else { throw DriverCacheError.cloud("the cache is not running") }
            return upstream
        }
    }

    /// The bound port once listening (useful with port 0), else `nil`.
    public var boundPort: Int? { self.port.withLockedValue { $0 } }

    /// Waits until the cache listens (it first needs a certificate) and returns its port.
    public func waitUntilListening(timeout: Duration = .seconds(60)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let port = self.boundPort { return port }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw DriverCacheError.configuration("the cache did not start listening within \(timeout)")
    }

    // MARK: Running

    public func run() async throws {
        let own: HTTPClientTransport?
        let http: any AgentHTTPTransport
        switch self.link {
        case .own(let caPEM):
            let transport = try HTTPClientTransport(
                caPEM: caPEM, timeout: self.configuration.upstreamTimeout, maxConnectionsPerHost: 4, connectTimeout: self.configuration.upstreamConnectTimeout)
            (own, http) = (transport, transport)
        case .shared(let transport):
            (own, http) = (nil, transport)
        }
        do {
            let upstream = CloudDriverCacheUpstream(
                http: http, identity: self.identity, publicKey: self.publicKey, store: try FileDriverStore(directory: self.configuration.driversDirectory),
                observer: UpstreamObserver(metrics: self.metrics, logger: self.logger), logger: self.logger,
                attempts: self.configuration.upstreamAttempts)
            self.upstreamBox.withLockedValue { $0 = upstream }
            try await self.serve()
        } catch {
            self.jobSink.finish()
            try? await own?.shutdown()
            throw error
        }
        self.jobSink.finish()
        try? await own?.shutdown()
    }

    private func serve() async throws {
        self.index.loadSaved()
        self.index.scanDisk()
        await self.refresh()
        if let refusal = self.index.refusal { throw refusal }
        if self.tls.isGiven {
            try self.tls.loadGiven()
        } else {
            self.tls.loadStored()
            guard try await self.obtainCertificate(retrying: true) else { return }  // shut down while waiting
        }
        let port = self.port
        let logger = self.logger
        let configuration = self.configuration
        let application = Application(
            router: DriverCacheRoutes(service: self).router(),
            server: try .tls(.http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))), tlsConfiguration: self.tls.serverConfiguration()),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "printplane-cache"),
            onServerRunning: { channel in
                port.withLockedValue { $0 = channel.localAddress?.port }
                logger.notice("driver cache listening", metadata: ["printplane.listen": "https://\(configuration.host):\(channel.localAddress?.port ?? 0)"])
            },
            logger: logger)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await self.work() }
            group.addTask { await self.refreshLoop() }
            group.addTask { await self.certificateLoop() }
            try await application.run()
            group.cancelAll()
        }
    }

    /// Runs fetches and refreshes handed over by requests, each once, until shutdown.
    private func work() async {
        await withDiscardingTaskGroup { group in
            for await job in self.jobs.cancelOnGracefulShutdown() {
                group.addTask {
                    switch job {
                    case .refresh:
                        let outcome = await self.refresh()
                        self.fetches.finish(Self.listKey, outcome)
                    case .fetch(let sha256):
                        await self.fetch(sha256)
                    }
                }
            }
            group.cancelAll()
        }
    }

    private func refreshLoop() async {
        for await _ in AsyncTimerSequence(interval: self.configuration.manifestRefreshInterval, clock: .continuous).cancelOnGracefulShutdown() {
            await self.refresh()
        }
    }

    private func certificateLoop() async {
        guard !self.tls.isGiven else { return }
        for await _ in AsyncTimerSequence(interval: self.configuration.certificateCheckInterval, clock: .continuous).cancelOnGracefulShutdown() {
            _ = try? await self.obtainCertificate(retrying: false)
        }
    }

    /// Asks the cloud's CA for a certificate when there is none or the current one is due;
    /// with `retrying`, keeps asking (with back-off) until it has one. Returns false when shut
    /// down while waiting; throws when the cloud refuses the cache for good.
    @discardableResult
    func obtainCertificate(retrying: Bool) async throws -> Bool {
        var delay = self.configuration.certificateRetry
        while true {
            let names = self.wantedNames()
            if !names.isEmpty, !self.tls.needsRenewal(names: names) { return true }
            do {
                guard !names.isEmpty else { throw DriverCacheError.cloud("the registration (and so the host to certify) is not known yet") }
                let issued = try await (try self.upstream).certificate(csrPEM: try self.tls.signingRequest(names: names))
                try self.tls.install(certificatePEM: issued.certificate)
                self.logger.notice("certificate signed by the control plane's CA", metadata: [
                    "printplane.tls.names": "\(names.joined(separator: ","))", "printplane.tls.not_after": "\(ISO8601DateFormatter().string(from: issued.notAfter))",
                ])
                return true
            } catch let error as DriverCacheError where error.isRefusal {
                self.logger.critical("the cloud refused this cache; it serves nothing", metadata: ["printplane.error": "\(error)"])
                throw error
            } catch {
                let usable = !self.tls.hasExpired()
                self.logger.log(level: usable ? .warning : .error, "cannot get a certificate from the control plane", metadata: [
                    "printplane.error": "\(error)", "printplane.tls.current_still_valid": "\(usable)",
                ])
                if usable && self.tls.current != nil { return true }
                guard retrying else { return false }
                let wait = delay
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                if Task.isCancelled || Task.isShuttingDownGracefully { return false }
                delay = min(delay * 2, .seconds(300))
            }
        }
    }

    /// The names to certify: the configured ones, else the registered URL's host.
    func wantedNames() -> [String] {
        if !self.configuration.tlsNames.isEmpty { return self.configuration.tlsNames }
        guard let url = self.index.current.registration.flatMap({ DriverCacheURL.parse($0.url) }) else { return [] }
        return [url.host]
    }

    /// Fetches the list; a refusal stops all serving (and is logged once, loudly).
    @discardableResult
    func refresh() async -> DriverCacheFetches.Outcome {
        self.index.refreshStarting()
        let wasRefused = self.index.refusal != nil
        do {
            let list = try await (try self.upstream).manifests()
            self.index.apply(list)
            self.index.refreshed(error: nil)
            return .done(0)
        } catch {
            let failure = error as? DriverCacheError ?? .cloud("\(error)")
            self.index.refreshed(error: failure)
            if failure.isRefusal, !wasRefused {
                self.logger.critical("the cloud refused this cache's credential; it serves nothing from now on", metadata: ["printplane.error": "\(failure)"])
            } else if !failure.isRefusal {
                self.logger.warning("cannot refresh the driver list; serving what is verified on disk", metadata: ["printplane.error": "\(failure)"])
            }
            return .failed(failure.description)
        }
    }

    /// Fetches and verifies one listed package, then wakes whoever waits for it.
    func fetch(_ sha256: String) async {
        guard let manifest = self.index.manifest(sha256) else {
            self.fetches.finish(sha256, .failed("the cloud does not list \(sha256)"))
            return
        }
        self.metrics.update { $0.upstreamFetches += 1 }
        do {
            let stored = try await (try self.upstream).fetch(manifest)
            self.index.markReady(sha256: sha256, size: stored.size)
            self.fetches.finish(sha256, .done(stored.size))
        } catch {
            self.metrics.update { $0.upstreamFailures += 1 }
            let reason = "\(error)"
            self.index.markFailed(sha256: sha256, reason: reason)
            self.logger.error("could not fetch and verify a driver package; it is not served", metadata: [
                "printplane.driver.sha256": "\(sha256)", "printplane.driver.name": "\(manifest.manifest.name)", "printplane.error": "\(reason)",
            ])
            self.fetches.finish(sha256, .failed(reason))
            // A refused credential shows as a failed download; the list call says which it was.
            await self.refresh()
        }
    }

    // MARK: Requests

    func download(_ request: Request, _ context: DriverCacheRequestContext) async -> Response {
        let arrival = ContinuousClock.now
        let sha256 = context.parameters.get("sha256") ?? ""
        guard DriverManifest.isSHA256Hex(sha256) else {
            return JSONAnswer.error(status: .badRequest, reason: "invalid_digest", message: "A driver is addressed by 64 lowercase hex characters of its SHA-256.")
        }
        if let refusal = self.index.refusal { return Self.refused(refusal) }
        if let size = self.index.readySize(sha256) {
            self.metrics.update { $0.hits += 1 }
            return self.send(request, context, sha256: sha256, size: size)
        }
        if self.index.manifest(sha256) == nil {
            await self.awaitListing(sha256, arrival: arrival)
            if let refusal = self.index.refusal { return Self.refused(refusal) }
            guard self.index.manifest(sha256) != nil else {
                self.metrics.update { $0.unknownDigests += 1 }
                let state = self.index.current
                if state.lastRefresh == nil, let error = state.lastRefreshError {
                    return JSONAnswer.error(status: .badGateway, reason: "cloud_unreachable", message: "The cache cannot ask the cloud which drivers exist: \(error)")
                }
                return JSONAnswer.error(status: .notFound, reason: "unknown_driver", message: "The cloud lists no driver with this digest.")
            }
        }
        if let reason = self.index.recentFailure(sha256) {
            return JSONAnswer.error(status: .badGateway, reason: "upstream_failed", message: "The cache could not fetch and verify this driver: \(reason)")
        }
        self.metrics.update { $0.misses += 1 }
        let sink = self.jobSink
        switch await self.fetches.wait(for: sha256, timeout: self.configuration.missWait, start: { sink.yield(.fetch($0)) }) {
        case .done:
            guard let size = self.index.readySize(sha256) else {
                return JSONAnswer.error(status: .badGateway, reason: "upstream_failed", message: "The driver is no longer listed by the cloud.")
            }
            return self.send(request, context, sha256: sha256, size: size)
        case .failed(let reason):
            return JSONAnswer.error(status: .badGateway, reason: "upstream_failed", message: "The cache could not fetch and verify this driver: \(reason)")
        case .gaveUp:
            return JSONAnswer.error(status: .serviceUnavailable, reason: "fetching", message: "The cache is fetching this driver from the cloud; retry shortly.", retryAfter: 5)
        }
    }

    /// Waits until a list fetched after `arrival` has been seen (a driver published a moment
    /// ago is then listed), joining a refresh in flight and starting at most one per
    /// ``DriverCacheConfiguration/unknownDigestRefreshInterval``. Gives up after `missWait`.
    private func awaitListing(_ sha256: String, arrival: ContinuousClock.Instant) async {
        let deadline = arrival + self.configuration.missWait
        let sink = self.jobSink
        for _ in 0..<3 {
            if self.index.manifest(sha256) != nil || self.index.refusal != nil { return }
            if let started = self.index.lastRefreshStart, started >= arrival, !self.fetches.isRunning(Self.listKey) { return }
            if let started = self.index.lastRefreshStart, !self.fetches.isRunning(Self.listKey) {
                let next = started + self.configuration.unknownDigestRefreshInterval
                if next > deadline { return }
                if next > .now { try? await Task.sleep(until: next, clock: .continuous) }
            }
            let left = deadline - .now
            guard left > .zero else { return }
            _ = await self.fetches.wait(for: Self.listKey, timeout: left) { _ in sink.yield(.refresh) }
        }
    }

    private func send(_ request: Request, _ context: DriverCacheRequestContext, sha256: String, size: Int64) -> Response {
        let metrics = self.metrics
        switch self.responder.respond(
            method: request.method, headers: request.headers, sha256: sha256, path: self.index.path(of: sha256), size: size, eventLoop: context.eventLoop,
            onBytes: { count in metrics.update { $0.bytesServed += Int64(count) } })
        {
        case .response(let response):
            return response
        case .busy:
            metrics.update { $0.refusedBusy += 1 }
            return JSONAnswer.error(status: .serviceUnavailable, reason: "downloads_busy", message: "Too many driver downloads are in progress; retry later.", retryAfter: Int.random(in: 1...5))
        }
    }

    static func refused(_ refusal: DriverCacheError) -> Response {
        JSONAnswer.error(status: .badGateway, reason: "credential_refused", message: "The cloud no longer accepts this cache (\(refusal.reason)); it serves nothing.")
    }

    /// The cache's state, for `/healthz`.
    public struct Health: Codable, Sendable, Hashable {
        /// `ok`, `credential_refused` or `certificate_expired`.
        public var status: String
        public var cache: String?
        public var url: String?
        public var manifests: Int
        public var packages: Int
        public var lastRefresh: Date?
        public var lastRefreshError: String?
        public var certificateNotAfter: Date?
        public var metrics: DriverCacheMetrics.Snapshot

        enum CodingKeys: String, CodingKey {
            case status, cache, url, manifests, packages, metrics
            case lastRefresh = "last_refresh"
            case lastRefreshError = "last_refresh_error"
            case certificateNotAfter = "certificate_not_after"
        }
    }

    public var healthReport: Health {
        let state = self.index.current
        let status = state.refusal != nil ? "credential_refused" : (self.tls.hasExpired() ? "certificate_expired" : "ok")
        return Health(
            status: status, cache: state.registration?.name, url: state.registration?.url, manifests: state.manifests.count,
            packages: state.ready.count, lastRefresh: state.lastRefreshDate, lastRefreshError: state.lastRefreshError,
            certificateNotAfter: self.tls.current?.notAfter, metrics: self.metrics.snapshot)
    }

    func health() -> Response {
        let report = self.healthReport
        return JSONAnswer.response(report, status: report.status == "ok" ? .ok : .serviceUnavailable)
    }

    func renderMetrics() -> String {
        self.metrics.render(inFlight: self.responder.limiter.current, packages: self.index.current.ready.count)
    }
}

/// Counts what the cache's own downloads from the cloud did (bytes, verification failures).
private struct UpstreamObserver: AgentObserver {
    let metrics: DriverCacheMetrics
    let logger: Logger

    func driverDownload(sha256: String, source: String, bytes: Int64, duration: Duration, error: String?) {
        if let error {
            if error.hasPrefix("verification") {
                self.metrics.update { $0.verificationFailures += 1 }
                self.logger.error("a package from the cloud failed verification; discarded", metadata: ["printplane.driver.sha256": "\(sha256)", "printplane.error": "\(error)"])
            }
        } else {
            self.metrics.update { $0.upstreamBytes += bytes }
        }
    }

    func retryAfter(seconds: Int, route: String) {}
}
