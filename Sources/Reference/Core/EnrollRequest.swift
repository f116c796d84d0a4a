/// `POST /api/v1/agent/enroll`: an agent trades an enrollment token for its own credential.
public struct EnrollRequest: Codable, Sendable, Hashable {
    /// The enrollment token an admin created (`ppe_…`).
    public var token: String
    public var hostname: String
    /// A stable per-machine ID; enrolling again with the same one keeps the same agent record.
    public var machineID: String
    public var os: String
    public var agentVersion: String

    public init(token: String, hostname: String, machineID: String, os: String, agentVersion: String) {
        self.token = token
        self.hostname = hostname
        self.machineID = machineID
        self.os = os
        self.agentVersion = agentVersion
    }

    enum CodingKeys: String, CodingKey {
        case token, hostname, os
        case machineID = "machine_id"
        case agentVersion = "agent_version"
    }

    /// Problems with the descriptive fields, empty when valid (the token is judged by the store).
    public var validationProblems: [String] {
        var problems = [String]()
        for (field, value) in [("hostname", hostname), ("machine_id", machineID), ("os", os), ("agent_version", agentVersion)] {
            if value.isEmpty || value.utf8.count > 256 || value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                problems.append("\(field) must be 1 to 256 printable characters")
            }
        }
        return problems
    }
}

/// The answer to a successful enrollment.
public struct EnrollResponse: Codable, Sendable, Hashable {
    public var agentID: AgentID
    /// The device credential (`ppd_…`). Shown once; the agent keeps it in a 0600 file.
    public var deviceCredential: String
    /// Base64 of the server's Ed25519 driver-signing public key.
    public var driverSigningPublicKey: String
    /// The base interval between check-ins.
    public var checkinIntervalSeconds: Int
    /// When to check in first, with jitter applied.
    public var nextCheckinSeconds: Int

    public init(agentID: AgentID, deviceCredential: String, driverSigningPublicKey: String, checkinIntervalSeconds: Int, nextCheckinSeconds: Int) {
        self.agentID = agentID
        self.deviceCredential = deviceCredential
        self.driverSigningPublicKey = driverSigningPublicKey
        self.checkinIntervalSeconds = checkinIntervalSeconds
        self.nextCheckinSeconds = nextCheckinSeconds
    }

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id"
        case deviceCredential = "device_credential"
        case driverSigningPublicKey = "driver_signing_public_key"
        case checkinIntervalSeconds = "checkin_interval_seconds"
        case nextCheckinSeconds = "next_checkin_seconds"
    }
}
