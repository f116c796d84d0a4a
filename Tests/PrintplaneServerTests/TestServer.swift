import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL
import PrintplaneCore
import ServiceLifecycle
import Testing

@testable import PrintplaneServer

/// A clock tests move by hand, to check expiry to the second.
final class ManualClock: Sendable {
    private let current: NIOLockedValueBox<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { self.current = NIOLockedValueBox(start) }
    var now: Date { self.current.withLockedValue { $0 } }
    func advance(_ seconds: TimeInterval) { self.current.withLockedValue { $0 = $0.addingTimeInterval(seconds) } }
}

/// One HTTP answer, body collected.
struct TestResponse {
    var status: Int
    var headers: HTTPHeaders
    var body: Data

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try WireCoding.makeDecoder().decode(T.self, from: self.body) }
    var reason: String? { (try? decode(APIErrorBody.self))?.reason }
    var text: String { String(decoding: self.body, as: UTF8.self) }
}

/// A real server on 127.0.0.1:0 over TLS, and an AsyncHTTPClient that trusts only its CA.
struct TestServer {
    let server: PrintplaneServer
    let port: Int
    let client: HTTPClient
    /// A client that follows no redirects, for the console's 303s.
    let plainClient: HTTPClient
    let dataDirectory: String
    let adminKey: String
    let caPEM: String

    var baseURL: String { "https://127.0.0.1:\(self.port)" }

    func request(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: Data? = nil,
        contentType: String? = "application/json", bearer: String? = nil
    ) async throws -> TestResponse {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if let body {
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            request.body = .bytes(ByteBuffer(data: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await self.client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 256 * 1024 * 1024)
        return TestResponse(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }

    func json(_ value: some Encodable) throws -> Data { try WireCoding.makeEncoder().encode(value) }

    func admin(_ method: HTTPMethod, _ path: String, json body: [String: Any]? = nil) async throws -> TestResponse {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        return try await self.request(method, path, body: data, bearer: self.adminKey)
    }

    /// Creates a token through the admin API and returns its secret and ID.
    func createToken(expiresIn: String = "1h", maxUses: Int? = nil) async throws -> (token: String, id: String) {
        var body: [String: Any] = ["expires_in": expiresIn]
        if let maxUses { body["max_uses"] = maxUses }
        let response = try await self.admin(.POST, "/api/v1/admin/tokens", json: body)
        #expect(response.status == 201, "\(response.text)")
        let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        return (object?["token"] as? String ?? "", object?["id"] as? String ?? "")
    }

    func enroll(token: String, machineID: String = UUID().uuidString, hostname: String = "ws-1") async throws -> TestResponse {
        try await self.request(.POST, "/api/v1/agent/enroll", body: self.json(EnrollRequest(token: token, hostname: hostname, machineID: machineID, os: "linux", agentVersion: "0.1.0")))
    }

    /// Enrolls a new agent with a fresh token and returns its credential and ID.
    func enrolledAgent(hostname: String = "ws-1", machineID: String = UUID().uuidString) async throws -> EnrollResponse {
        let (token, _) = try await self.createToken()
        let response = try await self.enroll(token: token, machineID: machineID, hostname: hostname)
        #expect(response.status == 201, "\(response.text)")
        return try response.decode(EnrollResponse.self)
    }

    func checkIn(_ credential: String, user: String? = nil, ips: [String] = [], etag: String? = nil, installed: [CheckInRequest.InstalledPrinter] = []) async throws -> TestResponse {
        try await self.request(.POST, "/api/v1/agent/checkin", body: self.json(CheckInRequest(user: user, ipAddresses: ips, installed: installed, planETag: etag)), bearer: credential)
    }

    func postJobs(_ credential: String, _ jobs: [JobRecord]) async throws -> TestResponse {
        try await self.request(.POST, "/api/v1/agent/jobs", body: self.json(JobBatch(jobs: jobs)), bearer: credential)
    }

    func registerHeld(_ credential: String, _ jobs: [HeldJobRegistration]) async throws -> TestResponse {
        try await self.request(.POST, "/api/v1/agent/held-jobs", body: self.json(HeldJobBatch(jobs: jobs)), bearer: credential)
    }

    /// A user-API call made with the admin key acting for `user`.
    func asUser(_ user: String, _ method: HTTPMethod, _ path: String, json body: [String: Any]? = nil) async throws -> TestResponse {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        return try await self.request(method, path, headers: [("X-Printplane-User", user)], body: data, bearer: self.adminKey)
    }
}

/// Makes an HTTP client that trusts only `caPEM`.
func makeClient(caPEM: String, maximumTLSVersion: TLSVersion? = nil, followRedirects: Bool = true) throws -> HTTPClient {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
    if let maximumTLSVersion {
        tls.minimumTLSVersion = .tlsv1
        tls.maximumTLSVersion = maximumTLSVersion
    }
    var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
    configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
    if !followRedirects { configuration.redirectConfiguration = .disallow }
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "printplane-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs `body` against a fresh server in a ServiceGroup, then shuts it down gracefully.
func withTestServer<T: Sendable>(
    dataDirectory: String? = nil,
    store: (any Store)? = nil,
    userAuthenticators: [any UserAuthenticator] = [],
    trustPEM: String? = nil,
    consoleAuthenticators: [any ConsoleAuthenticator] = [],
    logger: Logger? = nil,
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (TestServer) async throws -> T
) async throws -> T {
    let directory = dataDirectory ?? temporaryDirectory()
    var configuration = ServerConfiguration(dataDirectory: directory)
    configuration.port = 0
    configuration.checkInIntervalSeconds = 100
    // Tests choose their directory key; one set in the environment running them must not leak in.
    configuration.directoryKey = nil
    configure(&configuration)
    let logger = logger ?? {
        var logger = Logger(label: "printplane.server.test")
        logger.logLevel = .warning
        return logger
    }()
    let server = try PrintplaneServer.build(configuration: configuration, logger: logger, store: store, consoleAuthenticators: consoleAuthenticators, userAuthenticators: userAuthenticators)
    let group = ServiceGroup(configuration: .init(services: server.supportingServices + [server], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let port = try await server.waitUntilListening()
        let caPEM = try trustPEM ?? String(contentsOfFile: server.identity.caCertificatePath, encoding: .utf8)
        let adminKey = try String(contentsOfFile: server.identity.adminKeyPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let client = try makeClient(caPEM: caPEM)
        let plainClient = try makeClient(caPEM: caPEM, followRedirects: false)
        let test = TestServer(server: server, port: port, client: client, plainClient: plainClient, dataDirectory: directory, adminKey: adminKey, caPEM: caPEM)
        do {
            let result = try await body(test)
            try await client.shutdown()
            try await plainClient.shutdown()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            try? await client.shutdown()
            try? await plainClient.shutdown()
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// A job record with sensible defaults.
func makeJob(_ id: String, user: String = "alice", printer: String = "hq-1", computer: String = "ws-1", pages: Int = 2, copies: Int = 1, color: Bool = false, at: Date = Date(timeIntervalSince1970: 1_800_000_000)) -> JobRecord {
    JobRecord(
        jobID: JobID(id), user: user, computer: computer, printer: printer, documentName: "doc-\(id).pdf", pages: pages, copies: copies,
        color: color, duplex: true, bytes: 1000, protocol: .raw, submittedAt: at, completedAt: at.addingTimeInterval(3), outcome: .printed)
}
