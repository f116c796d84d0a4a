import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOSSL
import PrintplaneCore

/// A client for the admin API over TLS, trusting only the given CA: what
/// `printplane token …` runs, and what scripts and tests can reuse.
public struct AdminClient: Sendable {
    /// Where and how to connect.
    public struct Configuration: Sendable {
        /// `https://host:port`.
        public var serverURL: String
        /// The admin API key (the contents of `DATA_DIR/admin.key`).
        public var adminKey: String
        /// PEM of the CA that signed the server certificate.
        public var caPEM: String
        public var timeout: TimeAmount = .seconds(15)

        public init(serverURL: String, adminKey: String, caPEM: String) {
            self.serverURL = serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
            self.adminKey = adminKey
            self.caPEM = caPEM
        }

        /// Reads the key and CA from files, as the CLI flags name them.
        public init(serverURL: String, adminKeyFile: String, caFile: String) throws {
            self.init(
                serverURL: serverURL,
                adminKey: try String(contentsOfFile: adminKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                caPEM: try String(contentsOfFile: caFile, encoding: .utf8))
        }
    }

    /// A token as the admin API lists it; `token` is present only in the answer to create.
    public struct Token: Codable, Sendable {
        public var id: String
        public var token: String?
        public var label: String?
        public var createdAt: Date
        public var expiresAt: Date?
        public var maxUses: Int?
        public var uses: Int
        public var state: String
        enum CodingKeys: String, CodingKey {
            case id, token, label, uses, state
            case createdAt = "created_at", expiresAt = "expires_at", maxUses = "max_uses"
        }
    }

    /// The server refused a call.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var status: Int
        public var reason: String
        public var message: String
        public var description: String { "HTTP \(status) \(reason): \(message)" }
    }

    private struct Items<Item: Decodable>: Decodable { var items: [Item] }

    private let configuration: Configuration
    private let client: HTTPClient

    /// Runs `body` with a connected client and shuts it down afterwards.
    public static func with<T: Sendable>(_ configuration: Configuration, _ body: (AdminClient) async throws -> T) async throws -> T {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(configuration.caPEM.utf8)))
        tls.minimumTLSVersion = .tlsv12
        var clientConfiguration = HTTPClient.Configuration(tlsConfiguration: tls)
        clientConfiguration.timeout = .init(connect: .seconds(5), read: configuration.timeout)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        do {
            let result = try await body(AdminClient(configuration: configuration, client: client))
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Creates an enrollment token; the answer carries the token, shown this once.
    public func createToken(expiresIn: String, maxUses: Int?, label: String?) async throws -> Token {
        struct Body: Encodable {
            var expiresIn: String
            var maxUses: Int?
            var label: String?
            enum CodingKeys: String, CodingKey { case expiresIn = "expires_in", maxUses = "max_uses", label }
        }
        return try await self.call(.POST, "/api/v1/admin/tokens", body: Body(expiresIn: expiresIn, maxUses: maxUses, label: label))
    }

    /// Lists tokens with their state.
    public func listTokens() async throws -> [Token] {
        let list: Items<Token> = try await self.call(.GET, "/api/v1/admin/tokens", body: Optional<String>.none)
        return list.items
    }

    /// Revokes a token by ID.
    public func revokeToken(id: String) async throws -> Token {
        guard id.utf8.allSatisfy({ $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") }) else {
            throw Failure(status: 0, reason: "invalid_field", message: "a token ID has no '/' or '?'")
        }
        return try await self.call(.POST, "/api/v1/admin/tokens/\(id)/revoke", body: Optional<String>.none)
    }

    private func call<Body: Encodable, Answer: Decodable>(_ method: NIOHTTP1.HTTPMethod, _ path: String, body: Body?) async throws -> Answer {
        var request = HTTPClientRequest(url: self.configuration.serverURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(self.configuration.adminKey)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try WireCoding.makeEncoder().encode(body)))
        }
        let response = try await self.client.execute(request, timeout: self.configuration.timeout)
        let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            let error = try? WireCoding.makeDecoder().decode(APIErrorBody.self, from: data)
            throw Failure(status: Int(response.status.code), reason: error?.reason ?? "http_error", message: error?.message ?? response.status.reasonPhrase)
        }
        return try WireCoding.makeDecoder().decode(Answer.self, from: data)
    }
}
