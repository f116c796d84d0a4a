import NIOConcurrencyHelpers
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// One client connection to an LDAP server (RFC 4511), over plain LDAP, LDAPS or StartTLS.
///
/// Operations may run concurrently on one connection; responses are matched by messageID.
/// Every operation has the configuration's timeout, and a failure carries the server's result
/// code and diagnostic message (``LDAPClientError``).
public final class LDAPConnection: Sendable {
    private let channel: any Channel
    public let configuration: LDAPClientConfiguration
    /// Why the connection ended, as its handler saw it (a TLS failure, a reset, …).
    private let closeReason: NIOLockedValueBox<LDAPClientError?>

    private init(channel: any Channel, configuration: LDAPClientConfiguration, closeReason: NIOLockedValueBox<LDAPClientError?>) {
        self.channel = channel
        self.configuration = configuration
        self.closeReason = closeReason
    }

    /// Whether the underlying socket is still open.
    public var isActive: Bool { self.channel.isActive }

    /// Connects, and for ``LDAPClientConfiguration/Transport/startTLS`` upgrades before returning.
    public static func connect(
        configuration: LDAPClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "printplane.ldap.client")
    ) async throws -> LDAPConnection {
        let sslContext: NIOSSLContext?
        switch configuration.transport {
        case .plain: sslContext = nil
        case .ldaps, .startTLS: sslContext = try NIOSSLContext(configuration: configuration.tls)
        }
        let hostname = configuration.serverHostname ?? configuration.host
        let useTLSNow = configuration.transport == .ldaps
        let limits = configuration.limits
        let closeReason = NIOLockedValueBox<LDAPClientError?>(nil)
        let channel = try await ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(.nanoseconds(configuration.connectTimeout.nanosecondsForNIO))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if useTLSNow, let sslContext {
                        try sync.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: Self.sniHostname(hostname)))
                    }
                    try sync.addHandler(ByteToMessageHandler(LDAPMessageDecoder(limits: limits)))
                    try sync.addHandler(MessageToByteHandler(LDAPMessageEncoder()))
                    try sync.addHandler(LDAPClientHandler(closeReason: closeReason))
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .get()
        let connection = LDAPConnection(channel: channel, configuration: configuration, closeReason: closeReason)
        if configuration.transport == .startTLS, let sslContext {
            do {
                try await connection.startTLS(context: sslContext, serverHostname: hostname)
            } catch {
                try? await channel.close()
                throw error
            }
        }
        return connection
    }

    /// SNI must not be an IP address (RFC 6066 §3).
    private static func sniHostname(_ host: String) -> String? {
        let isIP = host.allSatisfy { $0.isHexDigit || $0 == "." || $0 == ":" } && (host.contains(".") || host.contains(":"))
        return isIP && host.contains(where: { $0 == "." || $0 == ":" }) && !host.contains(where: { $0.isLetter && !$0.isHexDigit }) ? nil : host
    }

    /// Sends one request and waits for its final response.
    public func send(_ operation: LDAPMessage.ProtocolOp, controls: [LDAPControl] = []) async throws -> LDAPClientResponse {
        let promise = self.channel.eventLoop.makePromise(of: LDAPClientResponse.self)
        let request = LDAPClientRequest(operation: operation, controls: controls, timeout: self.configuration.operationTimeout, promise: promise)
        let closeReason = self.closeReason
        self.channel.writeAndFlush(request).whenFailure { error in
            // Written after the channel closed: report why it closed, not "I/O on closed channel".
            promise.fail(closeReason.withLockedValue { $0 } ?? error)
        }
        return try await promise.futureResult.get()
    }

    /// A simple bind (RFC 4511 §4.2). Throws ``LDAPClientError`` with code 49 and AD's
    /// diagnostic for bad credentials.
    public func bind(name: String, password: String) async throws {
        let response = try await self.send(.bindRequest(.simple(name: name, password: password)))
        guard case .bindResponse(let bind) = response.operation else {
            throw LDAPClientError.unexpectedResponse("expected BindResponse")
        }
        guard bind.result.resultCode == .success else { throw LDAPClientError.operationFailed("bind", bind.result) }
    }

    /// The outcome of one search request.
    public struct SearchResult: Sendable {
        public var entries: [SearchResultEntry]
        public var references: [SearchResultReference]
        public var result: LDAPResult
        public var controls: [LDAPControl]
    }

    /// Runs one search and collects its results.
    ///
    /// A result of sizeLimitExceeded is returned with the entries that arrived (AD ends an
    /// unpaged search that way after 1000 entries); any other non-success result throws.
    public func search(_ request: SearchRequest, controls: [LDAPControl] = []) async throws -> SearchResult {
        let response = try await self.send(.searchRequest(request), controls: controls)
        guard case .searchResultDone(let result) = response.operation else {
            throw LDAPClientError.unexpectedResponse("expected SearchResultDone")
        }
        guard result.resultCode == .success || result.resultCode == .sizeLimitExceeded else {
            throw LDAPClientError.operationFailed("search", result)
        }
        return SearchResult(entries: response.entries, references: response.references, result: result, controls: response.controls)
    }

    /// A search paged with the Simple Paged Results control (RFC 2696), as an AsyncSequence of
    /// entries. Only one page is held in memory at a time.
    public func pagedSearch(_ request: SearchRequest, pageSize: Int = 500, controls: [LDAPControl] = []) -> LDAPPagedSearch {
        LDAPPagedSearch(connection: self, request: request, pageSize: pageSize, controls: controls)
    }

    /// An extended operation (RFC 4511 §4.12).
    public func extended(_ request: ExtendedRequest) async throws -> ExtendedResponse {
        let response = try await self.send(.extendedRequest(request))
        guard case .extendedResponse(let extended) = response.operation else {
            throw LDAPClientError.unexpectedResponse("expected ExtendedResponse")
        }
        guard extended.result.resultCode == .success else { throw LDAPClientError.operationFailed(request.name, extended.result) }
        return extended
    }

    /// "Who am I?" (RFC 4532): the authzId the server associates with this connection.
    public func whoAmI() async throws -> String {
        let response = try await self.extended(.whoAmI)
        return String(decoding: response.value ?? [], as: UTF8.self)
    }

    private func startTLS(context: NIOSSLContext, serverHostname: String) async throws {
        _ = try await self.extended(.startTLS)
        let sni = Self.sniHostname(serverHostname)
        try await self.channel.eventLoop.submit {
            try self.channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: sni), position: .first)
        }.get()
    }

    /// Sends an UnbindRequest and closes (RFC 4511 §4.3).
    public func close() async {
        let request = LDAPClientRequest(operation: .unbindRequest, controls: [], timeout: .seconds(1), promise: nil)
        try? await self.channel.writeAndFlush(request).get()
        try? await self.channel.close()
    }
}
