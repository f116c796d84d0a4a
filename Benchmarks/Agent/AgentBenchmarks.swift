import Benchmark
import Crypto
import Foundation
import Logging
import NIOCore
import PrintplaneAgent
import PrintplaneCore

/// The agent's own costs, without a network: what one virtual agent weighs in memory
/// (the simulator holds 10,000), and the agent-side cost of a check-in (build the
/// request, parse the plan), against a trivial JSON round trip in the same run.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3), maxIterations: 200_000)

    let key = Curve25519.Signing.PrivateKey()
    let (planAnswer, unchangedAnswer) = answers(key: key)
    var logger = Logger(label: "printplane.agent.bench")
    logger.logLevel = .error

    // Reference: encode a tiny request and decode a tiny answer with the same coders.
    struct Ping: Codable { var agent: String; var ok: Bool }
    let pingBytes = try! WireCoding.makeEncoder().encode(Ping(agent: "a", ok: true))
    Benchmark("Reference: JSON round trip of a two-field object") { benchmark in
        let encoder = WireCoding.makeEncoder()
        let decoder = WireCoding.makeDecoder()
        for _ in benchmark.scaledIterations {
            blackHole(try encoder.encode(Ping(agent: "a", ok: true)))
            blackHole(try decoder.decode(Ping.self, from: pingBytes))
        }
    }

    Benchmark("Agent check-in, unchanged (5 printers installed)") { benchmark in
        let agent = try await makeAgent(key: key, answer: planAnswer, logger: logger)
        _ = await agent.checkIn(user: "alice", ipAddresses: ["10.1.0.7"])
        let unchanged = try await makeAgent(key: key, answer: unchangedAnswer, logger: logger, state: await agent.state)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(await unchanged.checkIn(user: "alice", ipAddresses: ["10.1.0.7"]))
        }
    }

    Benchmark("Agent check-in, new 5-printer plan applied") { benchmark in
        var agents = [Agent]()
        for _ in benchmark.scaledIterations { agents.append(try await makeAgent(key: key, answer: planAnswer, logger: logger)) }
        benchmark.startMeasurement()
        for agent in agents {
            blackHole(await agent.checkIn(user: "alice", ipAddresses: ["10.1.0.7"]))
        }
    }

    // Memory (named to sort first, so it runs on a fresh heap, with no warm-up): build
    // 10,000 enrolled agents with 5 printers each and read the growth of the resident set
    // (page-granular, but 10,000 agents make the rounding negligible).
    Benchmark("Agent 10k memory: enrolled agents with 5 printers each", configuration: .init(metrics: [.custom("bytes per agent", polarity: .prefersSmaller, useScalingFactor: false)], warmupIterations: 0, maxDuration: .seconds(60), maxIterations: 1)) { benchmark in
        let count = 10_000
        var agents = [Agent]()
        agents.reserveCapacity(count)
        let before = residentBytes()
        for index in 0..<count {
            let agent = try await makeAgent(key: key, answer: planAnswer, logger: logger, index: index)
            _ = await agent.checkIn(user: "user-\(index)", ipAddresses: ["10.1.\(index / 250).\(index % 250)"])
            agents.append(agent)
        }
        let after = residentBytes()
        let perAgent = (after - before) / count
        benchmark.measurement(.custom("bytes per agent"), perAgent)
        print("agent memory: \(perAgent) bytes per enrolled agent with 5 printers (\(count) agents, RSS \(before / 1_048_576) → \(after / 1_048_576) MiB)")
        blackHole(agents)
    }
}

/// Resident set size of this process, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

struct CannedTransport: AgentHTTPTransport {
    var body: ByteBuffer
    func send(_ request: AgentHTTPRequest, limit: Int) async throws -> (AgentHTTPHead, ByteBuffer) {
        (AgentHTTPHead(status: 200, headers: [("Content-Type", "application/json")]), self.body)
    }
    func download(_ request: AgentHTTPRequest, into sink: some AgentDownloadSink) async throws -> AgentHTTPHead {
        AgentHTTPHead(status: 404, headers: [])
    }
}

struct NoPrinting: PrinterTransport {
    func send(_ submission: PrintSubmission) async throws {}
}

/// Every driver is already in the process-wide store (the simulator downloads bytes once).
struct ProvisionedDriverStore: DriverStore {
    func driver(sha256: String) async throws -> StoredDriver? { StoredDriver(sha256: sha256, size: 1_000_000, path: nil) }
    func partial(sha256: String) async throws -> any DriverPartial { fatalError("no downloads in this benchmark") }
    func installed() async throws -> [StoredDriver] { [] }
}

func answers(key: Curve25519.Signing.PrivateKey) -> (ByteBuffer, ByteBuffer) {
    let manifest = try! SignedDriverManifest(signing: DriverManifest(name: "Generic PCL6", version: "1.0", os: "linux", sha256: String(repeating: "ab", count: 32), size: 1_000_000), with: key)
    let printers = (0..<5).map { index in
        PlannedPrinter(
            id: PrinterID("printer-\(index)-0000-0000-000000000000"), name: "Floor \(index) Printer", address: "10.1.\(index).20",
            protocol: index % 2 == 0 ? .raw : .lpr, port: index % 2 == 0 ? 9100 : 515, queue: index % 2 == 0 ? nil : "lp",
            location: "Building A, floor \(index)",
            driver: PlannedDriver(id: DriverID("driver-0000"), manifest: manifest, sources: ["/api/v1/drivers/\(manifest.manifest.sha256)"]),
            profile: PrintProfile(duplex: .longEdge, color: false, paper: "A4", tray: nil, copies: 1))
    }
    let etag = Plan.etag(for: printers)
    let plan = CheckInResponse(status: .plan, etag: etag, nextCheckinSeconds: 300, plan: Plan(desired: printers, installed: []))
    let unchanged = CheckInResponse(status: .unchanged, etag: etag, nextCheckinSeconds: 300, plan: nil)
    return (ByteBuffer(bytes: try! WireCoding.makeEncoder().encode(plan)), ByteBuffer(bytes: try! WireCoding.makeEncoder().encode(unchanged)))
}

func makeAgent(key: Curve25519.Signing.PrivateKey, answer: ByteBuffer, logger: Logger, index: Int = 0, state: AgentState = AgentState()) async throws -> Agent {
    let outbox = MemoryOutbox()
    let environment = AgentEnvironment(
        http: CannedTransport(body: answer), clock: SystemAgentClock(), drivers: ProvisionedDriverStore(), installer: StateOnlyPrinterInstaller(),
        printers: NoPrinting(), outbox: outbox, spool: outbox, state: EphemeralAgentStateStore(), logger: logger)
    let identity = AgentIdentity(
        serverURL: "https://127.0.0.1:8443", agentID: AgentID(UUID().uuidString.lowercased()), deviceCredential: SecretToken.generate(.device).value,
        driverSigningPublicKey: key.publicKey.rawRepresentation.base64EncodedString(), hostname: "ws-\(index)", machineID: "machine-\(index)",
        enrolledAt: Date(), checkinIntervalSeconds: 300)
    return try Agent(environment: environment, identity: identity, state: state)
}
