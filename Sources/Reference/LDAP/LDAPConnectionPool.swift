import Logging
import NIOCore
import NIOPosix

/// A small pool of bound LDAP connections to one server.
///
/// Directory lookups are short and bursty (a check-in resolves a user's groups); opening and
/// binding a TLS connection for each costs more than the search. The pool keeps up to
/// `maximumConnections` connections, binds each once with the service account, and hands them
/// out one caller at a time. A connection that failed is closed rather than returned.
public actor LDAPConnectionPool {
    /// The credentials every pooled connection binds with; nil leaves connections anonymous.
    public struct Credentials: Sendable {
        public var name: String
        public var password: String

        public init(name: String, password: String) {
            self.name = name
            self.password = password
        }
    }

    private let configuration: LDAPClientConfiguration
    private let credentials: Credentials?
    private let maximumConnections: Int
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    private var idle: [LDAPConnection] = []
    private var open = 0
    private var waiters: [CheckedContinuation<LDAPConnection?, Never>] = []
    private var isClosed = false

    public init(
        configuration: LDAPClientConfiguration,
        credentials: Credentials?,
        maximumConnections: Int = 4,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "printplane.ldap.pool")
    ) {
        self.configuration = configuration
        self.credentials = credentials
        self.maximumConnections = max(1, maximumConnections)
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// How many connections are open (idle or leased).
    public var openConnections: Int { self.open }

    /// Takes a connection, opening and binding one if below the maximum, else waiting for one.
    public func lease() async throws -> LDAPConnection {
        while true {
            guard !self.isClosed else { throw LDAPClientError.connectionClosed }
            while let connection = self.idle.popLast() {
                if connection.isActive { return connection }
                self.open -= 1
            }
            if self.open < self.maximumConnections {
                self.open += 1
                do {
                    let connection = try await LDAPConnection.connect(configuration: self.configuration, eventLoopGroup: self.eventLoopGroup, logger: self.logger)
                    if let credentials = self.credentials {
                        do {
                            try await connection.bind(name: credentials.name, password: credentials.password)
                        } catch {
                            await connection.close()
                            throw error
                        }
                    }
                    return connection
                } catch {
                    self.open -= 1
                    self.wakeOne()
                    throw error
                }
            }
            if let handedOver = await withCheckedContinuation({ self.waiters.append($0) }) {
                return handedOver
            }
        }
    }

    /// Returns a connection; a connection whose operation failed should be returned with
    /// `reusable: false` so it is closed.
    public func release(_ connection: LDAPConnection, reusable: Bool = true) async {
        guard reusable, connection.isActive, !self.isClosed else {
            self.open -= 1
            await connection.close()
            self.wakeOne()
            return
        }
        if !self.waiters.isEmpty {
            self.waiters.removeFirst().resume(returning: connection)
        } else {
            self.idle.append(connection)
        }
    }

    private func wakeOne() {
        if !self.waiters.isEmpty { self.waiters.removeFirst().resume(returning: nil) }
    }

    /// Closes idle connections and refuses further leases.
    public func close() async {
        self.isClosed = true
        for waiter in self.waiters { waiter.resume(returning: nil) }
        self.waiters = []
        let idle = self.idle
        self.idle = []
        self.open -= idle.count
        for connection in idle { await connection.close() }
    }
}

extension LDAPConnectionPool {
    /// Runs `body` with a pooled connection, returning it afterwards (closed if `body` threw a
    /// transport error, kept if the server merely answered with an error result).
    public nonisolated func withConnection<Result: Sendable>(
        _ body: @Sendable (LDAPConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await self.lease()
        do {
            let result = try await body(connection)
            await self.release(connection)
            return result
        } catch let error as LDAPClientError where error.resultCode != nil {
            await self.release(connection)
            throw error
        } catch {
            await self.release(connection, reusable: false)
            throw error
        }
    }
}
