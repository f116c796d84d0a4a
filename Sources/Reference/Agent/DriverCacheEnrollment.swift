import Foundation
import Logging

/// `printplane cache enroll`: the cache redeems an enrollment token like an agent, so it is
/// a device with its own credential that an admin can list and revoke.
public enum DriverCacheEnrollment {
    /// What the cache tells the cloud about itself. The machine ID is prefixed, so a cache on
    /// a workstation that also runs an agent is a device of its own (re-enrolling one machine
    /// ID replaces that device's credential).
    public static func machine(hostname: String, machineID: String) -> Agent.Machine {
        Agent.Machine(
            hostname: hostname, machineID: "printplane-cache:" + machineID,
            os: "linux \(ProcessInfo.processInfo.operatingSystemVersionString)".prefix(200).description, agentVersion: "printplane-cache 0.1")
    }

    /// Enrolls and writes `credential.json` and `driver-signing.pub` (0600) and `ca.pem` into
    /// the state directory. Refuses a directory that already holds a credential.
    @discardableResult
    public static func enroll(
        configuration: DriverCacheConfiguration, serverURL: String, caPEM: String, token: String, machine: Agent.Machine, logger: Logger
    ) async throws -> AgentIdentity {
        let store = try FileAgentStateStore(directory: configuration.stateDirectory)
        if FileManager.default.fileExists(atPath: store.credentialPath) { throw AgentError.alreadyEnrolled(configuration.stateDirectory) }
        let http = try HTTPClientTransport(caPEM: caPEM, timeout: .seconds(30), maxConnectionsPerHost: 1)
        do {
            let identity = try await AgentEnrollment.enroll(http: http, serverURL: serverURL, token: token, machine: machine, now: Date())
            try await store.saveIdentity(identity)
            try AtomicFile.write(Data(caPEM.utf8), to: configuration.caPath, mode: 0o600)
            try await http.shutdown()
            logger.info("cache enrolled", metadata: ["printplane.agent.id": "\(identity.agentID)", "printplane.server": "\(identity.serverURL)"])
            return identity
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}
