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

    struct Items<Item: Decodable>: Decodable { var items: [Item] }

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

    /// Uploads a driver package; the server signs its manifest and answers with the record.
    public func uploadDriver(name: String, version: String, os: String, contents: ByteBuffer) async throws -> DriverRecord {
        var components = URLComponents()
        components.queryItems = [URLQueryItem(name: "name", value: name), URLQueryItem(name: "version", value: version), URLQueryItem(name: "os", value: os)]
        var request = HTTPClientRequest(url: self.configuration.serverURL + "/api/v1/admin/drivers?" + (components.percentEncodedQuery ?? ""))
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(self.configuration.adminKey)")
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .bytes(contents)
        return try await self.send(request)
    }

    /// Creates a printer; `port` defaults to the protocol's port on the server.
    public func createPrinter(
        name: String, address: String, protocol: PrinterProtocol, port: Int? = nil, queue: String? = nil, location: String? = nil,
        site: String? = nil, driverID: DriverID? = nil
    ) async throws -> PrinterRecord {
        struct Body: Encodable {
            var name: String, address: String, `protocol`: PrinterProtocol, port: Int?, queue: String?, location: String?, site: String?, driverID: DriverID?
            enum CodingKeys: String, CodingKey { case name, address, `protocol`, port, queue, location, site, driverID = "driver_id" }
        }
        return try await self.call(
            .POST, "/api/v1/admin/printers",
            body: Body(name: name, address: address, protocol: `protocol`, port: port, queue: queue, location: location, site: site, driverID: driverID))
    }

    /// Every printer, by name.
    public func listPrinters() async throws -> [PrinterRecord] {
        let items: Items<PrinterRecord> = try await self.call(.GET, "/api/v1/admin/printers", body: Optional<Int>.none)
        return items.items
    }

    /// Every driver package's record.
    public func listDrivers() async throws -> [DriverRecord] {
        let items: Items<DriverRecord> = try await self.call(.GET, "/api/v1/admin/drivers", body: Optional<Int>.none)
        return items.items
    }

    /// Every profile.
    public func listProfiles() async throws -> [ProfileRecord] {
        let items: Items<ProfileRecord> = try await self.call(.GET, "/api/v1/admin/profiles", body: Optional<Int>.none)
        return items.items
    }

    /// Every assignment.
    public func listAssignments() async throws -> [Assignment] {
        let items: Items<Assignment> = try await self.call(.GET, "/api/v1/admin/assignments", body: Optional<Int>.none)
        return items.items
    }

    /// Points a printer at another driver: publishing a new version.
    public func setPrinterDriver(printerID: PrinterID, driverID: DriverID?) async throws -> PrinterRecord {
        struct Body: Encodable {
            var driverID: DriverID?
            enum CodingKeys: String, CodingKey { case driverID = "driver_id" }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(self.driverID, forKey: .driverID)
            }
        }
        return try await self.call(.PUT, "/api/v1/admin/printers/\(printerID.rawValue)/driver", body: Body(driverID: driverID))
    }

    /// Creates a named print profile.
    public func createProfile(name: String, profile: PrintProfile) async throws -> ProfileRecord {
        struct Body: Encodable {
            var name: String, duplex: PrintProfile.Duplex, color: Bool, paper: String, tray: String?, copies: Int
        }
        return try await self.call(.POST, "/api/v1/admin/profiles", body: Body(name: name, duplex: profile.duplex, color: profile.color, paper: profile.paper, tray: profile.tray, copies: profile.copies))
    }

    /// Assigns a printer (with an optional profile) to a target.
    public func createAssignment(printerID: PrinterID, profileID: ProfileID? = nil, target: AssignmentTarget) async throws -> Assignment {
        struct Body: Encodable {
            var printerID: PrinterID, profileID: ProfileID?, target: AssignmentTarget
            enum CodingKeys: String, CodingKey { case printerID = "printer_id", profileID = "profile_id", target }
        }
        return try await self.call(.POST, "/api/v1/admin/assignments", body: Body(printerID: printerID, profileID: profileID, target: target))
    }

    /// Every job record the server holds (all pages of the report).
    public func allJobs() async throws -> [JobRecord] {
        struct Page: Decodable {
            var jobs: [JobRecord]
            var nextOffset: Int?
            enum CodingKeys: String, CodingKey { case jobs, nextOffset = "next_offset" }
        }
        var jobs = [JobRecord]()
        var offset = 0
        while true {
            let page: Page = try await self.call(.GET, "/api/v1/admin/reports/jobs?limit=10000&offset=\(offset)", body: Optional<String>.none)
            jobs += page.jobs
            guard let next = page.nextOffset, next > offset else { return jobs }
            offset = next
        }
    }

    /// Revokes an agent's device credential.
    public func revokeAgent(id: AgentID) async throws {
        var request = HTTPClientRequest(url: self.configuration.serverURL + "/api/v1/admin/agents/\(id.rawValue)/revoke")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(self.configuration.adminKey)")
        let response = try await self.client.execute(request, timeout: self.configuration.timeout)
        let bytes = try await response.body.collect(upTo: 1024 * 1024)
        guard (200..<300).contains(response.status.code) else {
            let error = try? WireCoding.makeDecoder().decode(APIErrorBody.self, from: Data(bytes.readableBytesView))
            throw Failure(status: Int(response.status.code), reason: error?.reason ?? "http_error", message: error?.message ?? response.status.reasonPhrase)
        }
    }

    /// The enrolled agents.
    public func listAgents() async throws -> [AgentRecord] {
        let list: Items<AgentRecord> = try await self.call(.GET, "/api/v1/admin/agents", body: Optional<String>.none)
        return list.items
    }

    // MARK: Directory

    /// Directory settings to PUT or test; `bindPassword` nil keeps the stored password.
    public struct DirectoryInput: Encodable, Sendable {
        public var url: String
        public var startTLS: Bool
        public var caPEM: String?
        public var baseDN: String
        public var bindDN: String
        public var bindPassword: String?
        public var flavour: DirectoryFlavour
        public var cacheTTLSeconds: Int
        public var adminGroupDN: String?

        public init(
            url: String, startTLS: Bool = false, caPEM: String? = nil, baseDN: String, bindDN: String, bindPassword: String?,
            flavour: DirectoryFlavour = .auto, cacheTTLSeconds: Int = DirectorySettings.defaultCacheTTLSeconds, adminGroupDN: String? = nil
        ) {
            self.url = url
            self.startTLS = startTLS
            self.caPEM = caPEM
            self.baseDN = baseDN
            self.bindDN = bindDN
            self.bindPassword = bindPassword
            self.flavour = flavour
            self.cacheTTLSeconds = cacheTTLSeconds
            self.adminGroupDN = adminGroupDN
        }

        enum CodingKeys: String, CodingKey {
            case url, flavour
            case startTLS = "start_tls"
            case caPEM = "ca_pem"
            case baseDN = "base_dn"
            case bindDN = "bind_dn"
            case bindPassword = "bind_password"
            case cacheTTLSeconds = "cache_ttl_seconds"
            case adminGroupDN = "admin_group_dn"
        }
    }

    /// The directory settings as the server shows them (never the password).
    public struct DirectoryView: Decodable, Sendable {
        public var url: String
        public var startTLS: Bool
        public var caPEM: String?
        public var baseDN: String
        public var bindDN: String
        public var bindPasswordSet: Bool
        public var flavour: String
        public var cacheTTLSeconds: Int
        public var adminGroupDN: String?
        public var revision: Int64
        public var updatedAt: Date
        public var warnings: [String]
        public var status: DirectoryService.Status

        enum CodingKeys: String, CodingKey {
            case url, flavour, revision, warnings, status
            case startTLS = "start_tls"
            case caPEM = "ca_pem"
            case baseDN = "base_dn"
            case bindDN = "bind_dn"
            case bindPasswordSet = "bind_password_set"
            case cacheTTLSeconds = "cache_ttl_seconds"
            case adminGroupDN = "admin_group_dn"
            case updatedAt = "updated_at"
        }
    }

    /// The directory settings.
    public func directorySettings() async throws -> DirectoryView {
        try await self.call(.GET, "/api/v1/admin/directory", body: Optional<String>.none)
    }

    /// Sets (replaces) the directory settings.
    public func setDirectory(_ input: DirectoryInput) async throws -> DirectoryView {
        try await self.call(.PUT, "/api/v1/admin/directory", body: input)
    }

    /// Removes the directory settings.
    public func deleteDirectory() async throws {
        try await self.callWithoutAnswer(.DELETE, "/api/v1/admin/directory")
    }

    /// Tries `input` (nil: the stored settings) without saving anything.
    public func testDirectory(_ input: DirectoryInput?) async throws -> DirectoryTestReport {
        try await self.call(.POST, "/api/v1/admin/directory/test", body: input)
    }

    /// What the server resolves for a user and/or a computer, fresh from the directory.
    public func lookupDirectory(user: String?, computer: String?) async throws -> DirectoryLookup {
        var components = URLComponents()
        components.queryItems = [("user", user), ("computer", computer)].compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        return try await self.call(.GET, "/api/v1/admin/directory/lookup?" + (components.percentEncodedQuery ?? ""), body: Optional<String>.none)
    }

    /// Groups or OUs whose name contains `query`.
    public func searchDirectory(kind: DirectorySearchKind, query: String, limit: Int = 50, offset: Int = 0) async throws -> DirectorySearchPage {
        var components = URLComponents()
        components.queryItems = [
            URLQueryItem(name: "kind", value: kind.rawValue), URLQueryItem(name: "q", value: query),
            URLQueryItem(name: "limit", value: String(limit)), URLQueryItem(name: "offset", value: String(offset)),
        ]
        return try await self.call(.GET, "/api/v1/admin/directory/search?" + (components.percentEncodedQuery ?? ""), body: Optional<String>.none)
    }

    func callWithoutAnswer(_ method: NIOHTTP1.HTTPMethod, _ path: String) async throws {
        var request = HTTPClientRequest(url: self.configuration.serverURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(self.configuration.adminKey)")
        let response = try await self.client.execute(request, timeout: self.configuration.timeout)
        let bytes = try await response.body.collect(upTo: 1024 * 1024)
        guard (200..<300).contains(response.status.code) else {
            let error = try? WireCoding.makeDecoder().decode(APIErrorBody.self, from: Data(bytes.readableBytesView))
            throw Failure(status: Int(response.status.code), reason: error?.reason ?? "http_error", message: error?.message ?? response.status.reasonPhrase)
        }
    }

    func call<Body: Encodable, Answer: Decodable>(_ method: NIOHTTP1.HTTPMethod, _ path: String, body: Body?) async throws -> Answer {
        var request = HTTPClientRequest(url: self.configuration.serverURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(self.configuration.adminKey)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try WireCoding.makeEncoder().encode(body)))
        }
        return try await self.send(request)
    }

    private func send<Answer: Decodable>(_ request: HTTPClientRequest) async throws -> Answer {
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
