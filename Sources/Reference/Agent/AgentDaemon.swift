import Foundation
import Logging
import NIOCore
import NIOPosix

/// Builds the real agent: files, SQLite and a TLS client trusting the server's CA as
/// copied into the state directory at enrollment.
public enum AgentDaemon {
    /// The daemon's environment, and the HTTP transport to shut down afterwards.
    public static func environment(configuration: AgentConfiguration, caPEM: String? = nil, logger: Logger) throws -> (AgentEnvironment, HTTPClientTransport) {
        let pem: String
        if let caPEM {
            pem = caPEM
        } else {
            guard let stored = FileManager.default.contents(atPath: configuration.caPath).flatMap({ String(data: $0, encoding: .utf8) }) else {
                throw AgentError.notEnrolled(configuration.stateDirectory)
            }
            pem = stored
        }
        // Everything that can fail comes before the HTTP client, which must be shut down once made.
        let state = try FileAgentStateStore(directory: configuration.stateDirectory)
        let database = try SQLiteAgentDatabase(path: configuration.databasePath, spoolDirectory: configuration.spoolDirectory)
        let installer = try QueueDefinitionInstaller(directory: configuration.queuesDirectory)
        let drivers = try FileDriverStore(directory: configuration.driversDirectory)
        let http = try HTTPClientTransport(caPEM: pem)
        let environment = AgentEnvironment(
            http: http, clock: SystemAgentClock(), drivers: drivers, installer: installer,
            printers: NIOPrinterTransport(timeout: configuration.printTimeout),
            outbox: database, spool: database, state: state, logger: logger)
        return (environment, http)
    }

    /// Stores the CA the agent was enrolled with, so later runs trust the same server.
    public static func saveCA(_ pem: String, configuration: AgentConfiguration) throws {
        try FileManager.default.createDirectory(atPath: configuration.stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try AtomicFile.write(Data(pem.utf8), to: configuration.caPath, mode: 0o600)
    }

    /// The user last reported by a login hook, if any.
    public static func lastLogin(configuration: AgentConfiguration) -> String? {
        guard let data = FileManager.default.contents(atPath: configuration.loginPath),
              let user = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              LoginListener.isValidUser(user) else { return nil }
        return user
    }

    /// Remembers a login for the daemon's next start.
    public static func recordLogin(_ user: String, configuration: AgentConfiguration) throws {
        try AtomicFile.write(Data((user + "\n").utf8), to: configuration.loginPath, mode: 0o600)
    }

    /// This machine's addresses for IP-range targeting: every interface address but
    /// loopback and link-local, or loopback when that is all there is.
    public static func localAddresses() -> [String] {
        let devices = (try? System.enumerateDevices()) ?? []
        let all = devices.compactMap { $0.address?.ipAddress }
        let routable = all.filter { !$0.hasPrefix("127.") && $0 != "::1" && !$0.lowercased().hasPrefix("fe80") }
        return Array(Set(routable.isEmpty ? all : routable)).sorted()
    }
}
