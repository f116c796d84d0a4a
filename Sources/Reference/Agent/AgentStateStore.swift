import Foundation
import PrintplaneCore

/// Who this agent is to the server: written once at enrollment.
public struct AgentIdentity: Codable, Sendable, Hashable {
    public var serverURL: String
    public var agentID: AgentID
    public var deviceCredential: String
    /// The server's Ed25519 driver-signing key, base64 (raw representation).
    public var driverSigningPublicKey: String
    public var hostname: String
    public var machineID: String
    public var enrolledAt: Date
    public var checkinIntervalSeconds: Int

    public init(serverURL: String, agentID: AgentID, deviceCredential: String, driverSigningPublicKey: String, hostname: String, machineID: String, enrolledAt: Date, checkinIntervalSeconds: Int) {
        self.serverURL = serverURL
        self.agentID = agentID
        self.deviceCredential = deviceCredential
        self.driverSigningPublicKey = driverSigningPublicKey
        self.hostname = hostname
        self.machineID = machineID
        self.enrolledAt = enrolledAt
        self.checkinIntervalSeconds = checkinIntervalSeconds
    }

    enum CodingKeys: String, CodingKey {
        case serverURL = "server_url"
        case agentID = "agent_id"
        case deviceCredential = "device_credential"
        case driverSigningPublicKey = "driver_signing_public_key"
        case hostname
        case machineID = "machine_id"
        case enrolledAt = "enrolled_at"
        case checkinIntervalSeconds = "checkin_interval_seconds"
    }
}

/// What the agent has done since: the plan it applied and what it installed.
public struct AgentState: Codable, Sendable, Hashable {
    public var planETag: String?
    public var installed: [InstalledPrinter] = []
    public var lastCheckIn: Date?
    public var lastCheckInResult: String?
    public var nextCheckIn: Date?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case planETag = "plan_etag"
        case installed
        case lastCheckIn = "last_checkin"
        case lastCheckInResult = "last_checkin_result"
        case nextCheckIn = "next_checkin"
    }
}

/// Where identity and state live. The daemon keeps files in its state directory
/// (credential 0600); a virtual agent keeps them only in memory.
public protocol AgentStateStore: Sendable {
    func loadIdentity() async throws -> AgentIdentity?
    func saveIdentity(_ identity: AgentIdentity) async throws
    func loadState() async throws -> AgentState
    func saveState(_ state: AgentState) async throws
}

/// A virtual agent's store: the agent actor already holds its state, so nothing is
/// copied (that keeps 10,000 agents small); nothing survives the process.
public struct EphemeralAgentStateStore: AgentStateStore {
    public init() {}
    public func loadIdentity() async throws -> AgentIdentity? { nil }
    public func saveIdentity(_ identity: AgentIdentity) async throws {}
    public func loadState() async throws -> AgentState { AgentState() }
    public func saveState(_ state: AgentState) async throws {}
}
