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

/// The control plane as one ``Service``: the HTTPS listener with the agent, admin and
/// ops routes, over a ``Store``. Run it in a `ServiceGroup`; on graceful shutdown the
/// listener stops accepting and in-flight requests (job ingest included) complete.
public struct PrintplaneServer: Service {
    public let configuration: ServerConfiguration
    public let identity: ServerIdentity
    public let store: any Store
    public let metrics: ServerMetrics
    /// The directory integration: group/OU facts for check-ins, and AD logins
    /// (``DirectoryService/authenticate(user:password:)``) for the admin console.
    public let directory: DirectoryService
    /// Every (method, path) of the JSON API, for the OpenAPI drift test.
    public let routes: [(method: String, path: String)]
    /// Every (method, path) of the HTML console (all under `/console`), which the OpenAPI
    /// document does not describe.
    public let consoleRoutes: [(method: String, path: String)]
    private let application: Application<RouterResponder<ServerRequestContext>>
    private let port: NIOLockedValueBox<Int?>
    /// The long-polls waiting for releases on this instance.
    let hub: ReleaseHub
    private let logger: Logger

    /// Builds the server: creates or loads the data directory's identity, opens the
    /// store (unless one is given) and wires the routes. Nothing listens until ``run()``.
    ///
    /// Run ``supportingServices`` in the same `ServiceGroup`, before the server
    /// (`supportingServices + [server]`): the PostgreSQL pool, the held-job expiry sweep and
    /// the release feed.
    ///
    /// The console signs in with the admin key (``AdminKeyAuthenticator``), then with each of
    /// `consoleAuthenticators`, then with the directory. The user API (pull-print release)
    /// accepts the admin key acting for a named user (``AdminKeyUserAuthenticator``), then
    /// each of `userAuthenticators`, then the directory.
    public static func build(
        configuration: ServerConfiguration, logger: Logger, store: (any Store)? = nil, consoleAuthenticators: [any ConsoleAuthenticator] = [],
        userAuthenticators: [any UserAuthenticator] = []
    ) throws -> PrintplaneServer {
        let identity = try ServerIdentity.loadOrCreate(configuration: configuration, logger: logger)
        let opened: any Store
        if let store {
            opened = store
        } else {
            switch try configuration.databaseLocation {
            case .sqlite(let path):
                opened = try SQLiteStore(path: path)
                logger.notice("database ready", metadata: ["printplane.database.path": "\(path)"])
            case .postgres(let settings):
                opened = try PostgresStore(settings: settings, logger: logger, operationTimeout: configuration.databaseTimeout)
                logger.notice("database: PostgreSQL", metadata: ["printplane.database": "\(settings)"])
            }
        }
        return try PrintplaneServer(
            configuration: configuration, identity: identity, store: opened,
            authenticators: [AdminKeyAuthenticator(identity: identity)] + consoleAuthenticators,
            userAuthenticators: [AdminKeyUserAuthenticator(identity: identity)] + userAuthenticators, logger: logger)
    }

    /// What must run beside the server, started before it and stopped after it: the
    /// PostgreSQL connection pool (for PostgreSQL), the held-job expiry sweep, and the feed
    /// that brings releases made through other instances (for a shared store). A
    /// `ServiceGroup` stops services in reverse order, so in-flight requests finish while the
    /// database is still there. Each read makes new services: take it once.
    public var supportingServices: [any Service] {
        var services = [any Service]()
        if let postgres = self.store as? PostgresStore { services.append(postgres) }
        services.append(HeldJobExpiryService(store: self.store, interval: self.configuration.heldJobSweepInterval, clock: self.configuration.clock, logger: self.logger))
        if let feed = self.store as? any ReleaseFeed { services.append(ReleaseFeedService(feed: feed, hub: self.hub, logger: self.logger)) }
        return services
    }

    private init(
        configuration: ServerConfiguration, identity: ServerIdentity, store: any Store, authenticators: [any ConsoleAuthenticator],
        userAuthenticators: [any UserAuthenticator], logger: Logger
    ) throws {
        self.configuration = configuration
        self.identity = identity
        self.store = store
        self.logger = logger
        let metrics = ServerMetrics()
        self.metrics = metrics
        let directory = DirectoryService(
            store: store, secrets: try DirectorySecretBox.forServer(dataDirectory: configuration.dataDirectory, environmentKey: configuration.directoryKey),
            clock: configuration.clock, metrics: metrics, logger: logger, options: configuration.directoryOptions)
        self.directory = directory
        let planner = CheckInPlanner(store: store, directory: directory, directoryRetryAfter: configuration.directoryRetryAfterSeconds)
        let hub = ReleaseHub(limit: configuration.maxLongPolls)
        self.hub = hub
        let repository = DriverRepository(
            directory: (configuration.dataDirectory as NSString).appendingPathComponent("drivers"), maxBytes: configuration.maxDriverBytes,
            mirror: store as? any DriverBlobMirror)

        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: RequestLogMiddleware(metrics: metrics, maxHeaderBytes: configuration.maxHeaderBytes))
        let table = RouteTable(router: router)
        AgentAPI(
            configuration: configuration, identity: identity, store: store, planner: planner,
            shedder: LoadShedder(softRate: configuration.checkInSoftRate, hardRate: configuration.checkInHardRate, clock: configuration.clock),
            downloads: DriverDownloadResponder(limiter: DownloadLimiter(limit: configuration.maxConcurrentDownloads)), repository: repository, metrics: metrics, hub: hub
        ).register(on: table)
        UserAPI(
            configuration: configuration, store: store, authenticators: userAuthenticators + [DirectoryUserAuthenticator(directory: directory)], hub: hub,
            metrics: metrics
        ).register(on: table)
        let operations = AdminOperations(configuration: configuration, identity: identity, store: store, planner: planner, repository: repository)
        AdminAPI(operations: operations, identity: identity, configuration: configuration).register(on: table)
        DirectoryAPI(configuration: configuration, identity: identity, store: store, directory: directory).register(on: table)
        DriverCacheAPI(configuration: configuration, identity: identity, store: store).register(on: table)
        DriverCacheAdminAPI(configuration: configuration, identity: identity, store: store).register(on: table)
        OpsAPI(store: store, metrics: metrics).register(on: table)
        self.routes = table.routes
        self.consoleRoutes = Console(
            operations: operations, sessions: ConsoleSessions(store: store, configuration: configuration, identity: identity),
            authenticators: authenticators + [DirectoryConsoleAuthenticator(directory: directory)], throttle: LoginThrottle(clock: configuration.clock),
            configuration: configuration, logger: logger
        ).register(on: router)

        let port = NIOLockedValueBox<Int?>(nil)
        self.port = port
        self.application = Application(
            router: router,
            server: try .tls(
                .http1(configuration: .init(additionalChannelHandlers: [HTTPParserErrorHandler()], idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))),
                tlsConfiguration: identity.tlsConfiguration()),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "printplane"),
            onServerRunning: { channel in
                port.withLockedValue { $0 = channel.localAddress?.port }
                logger.notice("listening", metadata: [
                    "printplane.listen": "https://\(configuration.host):\(channel.localAddress?.port ?? 0)",
                    "printplane.console": "https://\(configuration.host):\(channel.localAddress?.port ?? 0)/console",
                    "printplane.ca.path": "\(identity.caCertificatePath)",
                    "printplane.admin_key.path": "\(identity.adminKeyPath)",
                ])
            },
            logger: logger
        )
    }

    /// Serves until graceful shutdown. Then release long-polls answer at once (204) instead of
    /// holding the drain up for their wait, and in-flight requests complete.
    public func run() async throws {
        do {
            try await self.directory.refresh()
        } catch {
            self.logger.error("cannot read the directory settings", metadata: ["printplane.error": "\(error)"])
        }
        do {
            try await withGracefulShutdownHandler {
                try await self.application.run()
            } onGracefulShutdown: {
                self.hub.shutDown()
            }
        } catch {
            await self.directory.shutdown()
            throw error
        }
        await self.directory.shutdown()
    }

    /// The bound port once listening (useful with port 0), else `nil`.
    public var boundPort: Int? { self.port.withLockedValue { $0 } }

    /// Waits until the listener is bound and returns its port.
    public func waitUntilListening(timeout: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let port = self.boundPort { return port }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ServerError.invalidConfiguration("the server did not start listening within \(timeout)")
    }
}

/// `/healthz` (the process is up), `/readyz` (the database answers) and `/metrics`.
struct OpsAPI: Sendable {
    let store: any Store
    let metrics: ServerMetrics

    func register(on table: RouteTable) {
        table.add(.get, "/healthz") { _, _ in try HTTPBody.response(["status": "ok"]) }
        table.add(.get, "/readyz") { _, _ in
            if await self.store.isReady() { return try HTTPBody.response(["status": "ready"]) }
            return HTTPBody.response(for: .overloaded(retryAfter: 5))
        }
        table.add(.get, "/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.render())))
        }
    }
}
