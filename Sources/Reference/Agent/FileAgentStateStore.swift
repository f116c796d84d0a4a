import Foundation
import PrintplaneCore

/// The daemon's state directory:
/// - `credential.json` (0600): the identity, including the device credential;
/// - `driver-signing.pub` (0600): the server's driver-signing public key, base64;
/// - `state.json`: the applied plan and the installed printers.
/// Every file is written atomically (temp, fsync, rename).
public struct FileAgentStateStore: AgentStateStore {
    public let directory: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    public var credentialPath: String { "\(self.directory)/credential.json" }
    public var signingKeyPath: String { "\(self.directory)/driver-signing.pub" }
    public var statePath: String { "\(self.directory)/state.json" }

    public func loadIdentity() async throws -> AgentIdentity? {
        guard let data = FileManager.default.contents(atPath: self.credentialPath) else { return nil }
        do {
            return try WireCoding.makeDecoder().decode(AgentIdentity.self, from: data)
        } catch {
            throw AgentError.storage("\(self.credentialPath) is not a readable agent credential (\(error))")
        }
    }

    public func saveIdentity(_ identity: AgentIdentity) async throws {
        try AtomicFile.write(Data((identity.driverSigningPublicKey + "\n").utf8), to: self.signingKeyPath, mode: 0o600)
        try AtomicFile.write(try WireCoding.makeEncoder().encode(identity), to: self.credentialPath, mode: 0o600)
    }

    public func loadState() async throws -> AgentState {
        guard let data = FileManager.default.contents(atPath: self.statePath) else { return AgentState() }
        do {
            return try WireCoding.makeDecoder().decode(AgentState.self, from: data)
        } catch {
            throw AgentError.storage("\(self.statePath) is not readable agent state (\(error)); remove it and the agent will check in afresh")
        }
    }

    public func saveState(_ state: AgentState) async throws {
        try AtomicFile.write(try WireCoding.makeEncoder().encode(state), to: self.statePath, mode: 0o600)
    }
}
