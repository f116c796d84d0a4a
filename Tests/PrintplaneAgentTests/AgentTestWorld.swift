import AsyncHTTPClient
import FakePrinter
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PrintplaneCore
import PrintplaneServer
import ServiceLifecycle
import Testing

@testable import PrintplaneAgent

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("PrintProtocolsTests/Fixtures").path

func fixture(_ name: String) throws -> ByteBuffer {
    guard let data = FileManager.default.contents(atPath: "\(fixtures)/\(name)") else { throw TestFailure("missing fixture \(name)") }
    return ByteBuffer(bytes: data)
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["PRINTPLANE_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
    return logger
}

func makeTemporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "printplane-agent-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The reference server in this process, on 127.0.0.1, that a test can stop and start
/// again on the same port and data directory (an outage).
final class RestartableServer: @unchecked Sendable {
    let dataDirectory: String
    private let lock = NIOLock()
    private var port = 0
    private var running: (group: ServiceGroup, task: Task<Void, Error>)?
    /// The server while it runs.
    var current: PrintplaneServer? { self.lock.withLock { self.running == nil ? nil : self.built } }
    private var built: PrintplaneServer?
    var clock: @Sendable () -> Date = { Date() }
    var configure: @Sendable (inout ServerConfiguration) -> Void = { _ in }

    init(dataDirectory: String = makeTemporaryDirectory()) {
        self.dataDirectory = dataDirectory
    }

    var url: String { "https://127.0.0.1:\(self.lock.withLock { self.port })" }
    var caPEM: String { (try? String(contentsOfFile: "\(self.dataDirectory)/ca.pem", encoding: .utf8)) ?? "" }
    var adminKey: String { ((try? String(contentsOfFile: "\(self.dataDirectory)/admin.key", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }

    func start() async throws {
        var configuration = ServerConfiguration(dataDirectory: self.dataDirectory)
        configuration.port = self.lock.withLock { self.port }
        configuration.checkInIntervalSeconds = 60
        configuration.clock = self.clock
        self.configure(&configuration)
        let logger = testLogger("printplane.server.test")
        let server = try PrintplaneServer.build(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: server.supportingServices + [server], logger: logger))
        let task = Task { try await group.run() }
        let port = try await server.waitUntilListening()
        self.lock.withLock {
            self.port = port
            self.running = (group, task)
            self.built = server
        }
    }

    func stop() async {
        guard let running = self.lock.withLock({ () -> (group: ServiceGroup, task: Task<Void, Error>)? in
            defer { self.running = nil }
            return self.running
        }) else { return }
        await running.group.triggerGracefulShutdown()
        _ = try? await running.task.value
    }

    func admin<T: Sendable>(_ body: (AdminClient) async throws -> T) async throws -> T {
        try await AdminClient.with(AdminClient.Configuration(serverURL: self.url, adminKey: self.adminKey, caPEM: self.caPEM), body)
    }
}

/// Fake printers on 127.0.0.x with free ports, for the duration of `body`.
func withPrinters<T: Sendable>(host: String = "127.0.0.1", count: Int, _ body: @Sendable (FakePrinterService, FakePrinterService.Endpoints) async throws -> T) async throws -> T {
    let spool = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: spool) }
    let configuration = FakePrinterConfiguration(host: host, count: count, rawPort: 0, lpdPort: 0, httpPort: nil, spoolDirectory: spool)
    let logger = testLogger("printplane.printer.test")
    let service = try FakePrinterService(configuration: configuration, logger: logger)
    let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
    return try await withThrowingTaskGroup(of: T?.self) { tasks in
        tasks.addTask { try await group.run(); return nil }
        let endpoints = try await service.endpoints()
        do {
            let result = try await body(service, endpoints)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// A real agent on disk: state directory, SQLite outbox, TLS client trusting the CA.
struct DiskAgent {
    let configuration: AgentConfiguration
    let agent: Agent
    let http: HTTPClientTransport

    static func make(stateDirectory: String = makeTemporaryDirectory(), caPEM: String? = nil) async throws -> DiskAgent {
        let configuration = AgentConfiguration(stateDirectory: stateDirectory)
        if let caPEM { try AgentDaemon.saveCA(caPEM, configuration: configuration) }
        let (environment, http) = try AgentDaemon.environment(configuration: configuration, logger: testLogger("printplane.agent.test"))
        return DiskAgent(configuration: configuration, agent: try await Agent.load(environment: environment), http: http)
    }

    func close() async { try? await self.http.shutdown() }
}

let testMachine = Agent.Machine(hostname: "ws-test-1", machineID: "machine-test-1", os: "linux", agentVersion: "test")

/// What the admin set up for the agent: a signed driver and printers assigned to everyone.
struct Fleet {
    var driver: DriverRecord
    var driverBytes: ByteBuffer
    var printers: [PrinterRecord]
    var token: String
}

/// Creates a driver, one printer per endpoint (RAW for the first, LPR for the second,
/// alternating), a duplex profile, assignments to everyone, and a token.
func setUpFleet(_ server: RestartableServer, endpoints: FakePrinterService.Endpoints, driverSize: Int = 300_000, tokenExpiry: String = "1h") async throws -> Fleet {
    var bytes = ByteBuffer()
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<driverSize { bytes.writeInteger(UInt8.random(in: 0...255, using: &generator)) }
    let driverBytes = bytes
    return try await server.admin { admin in
        let driver = try await admin.uploadDriver(name: "Generic PCL6", version: "1.0", os: "linux", contents: driverBytes)
        let profile = try await admin.createProfile(name: "duplex", profile: PrintProfile(duplex: .longEdge, color: false, paper: "A4", tray: nil, copies: 1))
        var printers = [PrinterRecord]()
        for (index, endpoint) in endpoints.printers.enumerated() {
            let raw = index % 2 == 0
            let printer = try await admin.createPrinter(
                name: "P\(index + 1)-\(raw ? "raw" : "lpr")", address: endpoint.address, protocol: raw ? .raw : .lpr,
                port: raw ? endpoint.rawPort : endpoint.lpdPort, queue: raw ? nil : "lp", driverID: driver.id)
            _ = try await admin.createAssignment(printerID: printer.id, profileID: profile.id, target: .everyone)
            printers.append(printer)
        }
        let token = try await admin.createToken(expiresIn: tokenExpiry, maxUses: nil, label: "test")
        return Fleet(driver: driver, driverBytes: driverBytes, printers: printers, token: token.token ?? "")
    }
}
