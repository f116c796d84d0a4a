import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import PrintplaneCore
import Testing

@testable import PrintplaneAgent


/// Answers every call with one canned response: the agent's logic without a network.
struct CannedTransport: AgentHTTPTransport {
    var status = 200
    var body: ByteBuffer

    func send(_ request: AgentHTTPRequest, limit: Int) async throws -> (AgentHTTPHead, ByteBuffer) {
        (AgentHTTPHead(status: self.status, headers: [("Content-Type", "application/json")]), self.body)
    }

    func download(_ request: AgentHTTPRequest, into sink: some AgentDownloadSink) async throws -> AgentHTTPHead {
        throw TestFailure("no downloads expected")
    }
}

struct NoPrinting: PrinterTransport {
    func send(_ submission: PrintSubmission) async throws {}
}

/// A realistic 5-printer plan, printers without drivers (driver state is the store's,
/// shared per process) but with full profiles and addresses.
func fivePrinterPlan(key: Curve25519.Signing.PrivateKey) throws -> (CheckInResponse, [PlannedPrinter]) {
    let manifest = try SignedDriverManifest(signing: DriverManifest(name: "Generic PCL6", version: "1.0", os: "linux", sha256: String(repeating: "ab", count: 32), size: 1_000_000), with: key)
    let printers = (0..<5).map { index in
        PlannedPrinter(
            id: PrinterID(UUID().uuidString.lowercased()), name: "Floor \(index) Printer", address: "10.1.\(index).20", protocol: index % 2 == 0 ? .raw : .lpr,
            port: index % 2 == 0 ? 9100 : 515, queue: index % 2 == 0 ? nil : "lp", location: "Building A, floor \(index)",
            driver: PlannedDriver(id: DriverID(UUID().uuidString.lowercased()), manifest: manifest, sources: ["/api/v1/drivers/\(manifest.manifest.sha256)"]),
            profile: PrintProfile(duplex: .longEdge, color: false, paper: "A4", tray: nil, copies: 1))
    }
    let plan = Plan(desired: printers, installed: [])
    return (CheckInResponse(status: .plan, etag: Plan.etag(for: printers), nextCheckinSeconds: 300, plan: plan), printers)
}

@Suite struct VirtualAgentTests {
    /// Many light-weight agents share one transport and one driver store, each applying
    /// its own plan (the simulator's set-up). The bytes per agent are measured in
    /// Benchmarks/Agent, in a process of its own.
    @Test func manyAgentsShareOneTransportAndDriverStore() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let (response, _) = try fivePrinterPlan(key: key)
        let body = ByteBuffer(bytes: try WireCoding.makeEncoder().encode(response))
        let transport = CannedTransport(body: body)
        let count = 300
        var agents = [Agent]()
        agents.reserveCapacity(count)
        for index in 0..<count {
            let outbox = MemoryOutbox()
            let environment = AgentEnvironment(
                http: transport, clock: SystemAgentClock(), drivers: ProvisionedDriverStore.shared, installer: StateOnlyPrinterInstaller(),
                printers: NoPrinting(), outbox: outbox, spool: outbox, state: EphemeralAgentStateStore(), logger: testLogger("printplane.agent.memory"))
            let identity = AgentIdentity(
                serverURL: "https://127.0.0.1:8443", agentID: AgentID(UUID().uuidString.lowercased()), deviceCredential: SecretToken.generate(.device).value,
                driverSigningPublicKey: key.publicKey.rawRepresentation.base64EncodedString(), hostname: "ws-\(index)", machineID: "machine-\(index)",
                enrolledAt: Date(), checkinIntervalSeconds: 300)
            let agent = try Agent(environment: environment, identity: identity)
            let outcome = await agent.checkIn(user: "user-\(index)", ipAddresses: ["10.1.0.\(index % 250)"])
            guard case .applied(let changes, _) = outcome, changes.installed.count == 5 else {
                Issue.record("expected 5 printers installed, got \(outcome)")
                return
            }
            agents.append(agent)
        }
        #expect(agents.count == count)
        for agent in agents.prefix(3) {
            #expect(await agent.state.installed.count == 5)
            #expect(await agent.state.planETag != nil)
        }
    }
}

/// A store that already holds every driver: the shared, per-process store of the simulator.
struct ProvisionedDriverStore: DriverStore {
    static let shared = ProvisionedDriverStore()
    func driver(sha256: String) async throws -> StoredDriver? { StoredDriver(sha256: sha256, size: 1_000_000, path: nil) }
    func partial(sha256: String) async throws -> any DriverPartial { throw TestFailure("no downloads expected") }
    func installed() async throws -> [StoredDriver] { [] }
}
