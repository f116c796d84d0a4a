import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL

/// The agent's HTTP over AsyncHTTPClient: TLS to the cloud, trusting only the
/// server's CA, with a connection pool that many agents may share.
public final class HTTPClientTransport: AgentHTTPTransport {
    private let client: HTTPClient
    private let ownsClient: Bool
    private let timeout: TimeAmount

    /// Shares an existing client (the simulator's pool). The caller shuts it down.
    public init(client: HTTPClient, timeout: TimeAmount = .seconds(30)) {
        self.client = client
        self.ownsClient = false
        self.timeout = timeout
    }

    /// A client that trusts only `caPEM`; call `shutdown()` when done.
    public init(caPEM: String, timeout: TimeAmount = .seconds(30), maxConnectionsPerHost: Int = 8, connectTimeout: TimeAmount = .seconds(10)) throws {
        self.client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: try Self.configuration(caPEM: caPEM, timeout: timeout, maxConnectionsPerHost: maxConnectionsPerHost, connectTimeout: connectTimeout))
        self.ownsClient = true
        self.timeout = timeout
    }

    /// A client configuration that trusts only `caPEM` and speaks TLS 1.2 or newer.
    /// (AsyncHTTPClient retries a refused connection until `connectTimeout`.)
    public static func configuration(
        caPEM: String, timeout: TimeAmount = .seconds(30), maxConnectionsPerHost: Int = 8, connectTimeout: TimeAmount = .seconds(10)
    ) throws -> HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        } catch {
            throw AgentError.badCAFile("the CA file holds no readable PEM certificate (\(error))")
        }
        tls.minimumTLSVersion = .tlsv12
        // A connection closed under a release long-poll (daemon shutdown) would otherwise wait
        // NIOSSL's default 5 s for the server's close_notify, which the server sends only when
        // the poll ends.
        tls.shutdownTimeout = .seconds(1)
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: connectTimeout, read: timeout)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnectionsPerHost)
        configuration.decompression = .disabled
        return configuration
    }

    public func shutdown() async throws {
        if self.ownsClient { try await self.client.shutdown() }
    }

    private func makeRequest(_ request: AgentHTTPRequest) -> HTTPClientRequest {
        var out = HTTPClientRequest(url: request.url)
        out.method = HTTPMethod(rawValue: request.method.rawValue)
        for (name, value) in request.headers { out.headers.add(name: name, value: value) }
        if let body = request.body {
            out.headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
            out.body = .bytes(body)
        }
        return out
    }

    public func send(_ request: AgentHTTPRequest, limit: Int) async throws -> (AgentHTTPHead, ByteBuffer) {
        let response = try await self.client.execute(self.makeRequest(request), timeout: self.timeout)
        let head = AgentHTTPHead(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) })
        let body = try await response.body.collect(upTo: limit)
        return (head, body)
    }

    public func download(_ request: AgentHTTPRequest, into sink: some AgentDownloadSink) async throws -> AgentHTTPHead {
        // No overall deadline: a big driver on a slow link may take long. The read
        // timeout of the client configuration still cuts a stalled transfer.
        let response = try await self.client.execute(self.makeRequest(request), deadline: .distantFuture)
        let head = AgentHTTPHead(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) })
        // An unwanted body is dropped unread; AsyncHTTPClient then closes that connection.
        guard try await sink.accept(head) else { return head }
        for try await chunk in response.body { try await sink.write(chunk) }
        return head
    }
}
