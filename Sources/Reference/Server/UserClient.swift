import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PrintplaneCore

/// A client for the user API (pull-print release) over TLS, trusting only the given CA: what
/// `printplane release …` runs, and what scripts, portals and tests can reuse.
public struct UserClient: Sendable {
    /// Who the calls are made as.
    public enum Credentials: Sendable {
        /// The admin key acting for `user` (admins and scripts).
        case adminKey(String, user: String)
        /// The user's own name and password, checked by the server's directory (HTTP Basic).
        case password(user: String, password: String)
    }

    /// Where and how to connect.
    public struct Configuration: Sendable {
        /// `https://host:port`.
        public var serverURL: String
        /// PEM of the CA that signed the server certificate.
        public var caPEM: String
        public var credentials: Credentials
        public var timeout: TimeAmount = .seconds(15)

        public init(serverURL: String, caPEM: String, credentials: Credentials) {
            self.serverURL = serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
            self.caPEM = caPEM
            self.credentials = credentials
        }
    }

    private struct Items<Item: Decodable>: Decodable { var items: [Item] }

    private let configuration: Configuration
    private let client: HTTPClient

    /// A client over an existing connection pool, which the caller shuts down (the simulator
    /// shares one pool; its TLS settings apply, not `configuration.caPEM`).
    public init(configuration: Configuration, client: HTTPClient) {
        self.configuration = configuration
        self.client = client
    }

    /// Runs `body` with a connected client and shuts it down afterwards.
    public static func with<T: Sendable>(_ configuration: Configuration, _ body: (UserClient) async throws -> T) async throws -> T {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(configuration.caPEM.utf8)))
        tls.minimumTLSVersion = .tlsv12
        var clientConfiguration = HTTPClient.Configuration(tlsConfiguration: tls)
        clientConfiguration.timeout = .init(connect: .seconds(5), read: configuration.timeout)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        do {
            let result = try await body(UserClient(configuration: configuration, client: client))
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// My held jobs, newest first (`states` nil: every state).
    public func heldJobs(states: Set<HeldJobState>? = nil, limit: Int = 100) async throws -> [HeldJobStatus] {
        var query = "?limit=\(limit)"
        if let states { query += "&state=" + states.map(\.rawValue).sorted().joined(separator: ",") }
        let list: Items<HeldJobStatus> = try await self.call(.GET, "/api/v1/user/held-jobs" + query, body: Optional<String>.none)
        return list.items
    }

    /// Releases a held job to a printer, named by ID or by name.
    public func release(_ id: JobID, to printer: ReleaseRequest) async throws -> HeldJobStatus {
        try await self.call(.POST, "/api/v1/user/held-jobs/\(try Self.pathSegment(id))/release", body: printer)
    }

    /// Cancels a held (or released, not yet printed) job.
    public func cancel(_ id: JobID) async throws -> HeldJobStatus {
        try await self.call(.POST, "/api/v1/user/held-jobs/\(try Self.pathSegment(id))/cancel", body: Optional<String>.none)
    }

    private static func pathSegment(_ id: JobID) throws -> String {
        guard !id.rawValue.isEmpty, let encoded = id.rawValue.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) else {
            throw AdminClient.Failure(status: 0, reason: "invalid_field", message: "a job ID is 1 to 128 characters")
        }
        return encoded
    }

    private func call<Body: Encodable, Answer: Decodable>(_ method: NIOHTTP1.HTTPMethod, _ path: String, body: Body?) async throws -> Answer {
        var request = HTTPClientRequest(url: self.configuration.serverURL + path)
        switch self.configuration.credentials {
        case .adminKey(let key, let user):
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
            request.headers.add(name: "X-Printplane-User", value: user)
        case .password(let user, let password):
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
        }
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try WireCoding.makeEncoder().encode(body)))
        }
        let response = try await self.client.execute(request, timeout: self.configuration.timeout)
        let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            let error = try? WireCoding.makeDecoder().decode(APIErrorBody.self, from: data)
            throw AdminClient.Failure(status: Int(response.status.code), reason: error?.reason ?? "http_error", message: error?.message ?? response.status.reasonPhrase)
        }
        return try WireCoding.makeDecoder().decode(Answer.self, from: data)
    }
}
