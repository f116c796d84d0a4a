import Foundation
import LDAP
import Logging
import NIOSSL
import ServiceLifecycle
import Sim
import Testing

/// Runs a simulated AD on 127.0.0.1 with free ports for the length of a test, inside a real
/// ServiceGroup, and shuts it down gracefully afterwards.
package enum SimulatedADFixture {
    package static func configuration(users: Int = 300, groups: Int = 60, computers: Int = 40, seed: UInt64 = 42) -> SimulatedADConfiguration {
        SimulatedADConfiguration(
            host: "127.0.0.1",
            port: 0,
            ldapsPort: 0,
            startTLS: true,
            certificate: .generated(hostnames: ["localhost", "127.0.0.1"]),
            directory: .init(domain: "corp.example.com", seed: seed, users: users, groups: groups, computers: computers)
        )
    }

    package static func withServer<Result: Sendable>(
        _ configuration: SimulatedADConfiguration = configuration(),
        _ body: (SimulatedADServer, SimulatedADServer.Addresses) async throws -> Result
    ) async throws -> Result {
        var logger = Logger(label: "printplane.ad.test")
        logger.logLevel = .warning
        let server = try SimulatedADServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let addresses = try await server.listeningAddresses()
                let result = try await body(server, addresses)
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

    /// A temporary file holding `text`, removed by the caller.
    package static func temporaryFile(_ text: String, suffix: String = ".pem") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pp-\(UUID().uuidString)\(suffix)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    package static func clientConfiguration(_ server: SimulatedADServer, _ addresses: SimulatedADServer.Addresses, transport: LDAPClientConfiguration.Transport = .plain, operationTimeout: Duration = .seconds(10)) throws -> LDAPClientConfiguration {
        let port = transport == .ldaps ? addresses.ldapsPort! : addresses.ldapPort
        let tls = try server.certificateAuthority!.clientTLSConfiguration()
        return LDAPClientConfiguration(host: "127.0.0.1", port: port, transport: transport, tls: tls, connectTimeout: .seconds(5), operationTimeout: operationTimeout)
    }

    package static func serviceAccount(_ directory: SimulatedDirectory) -> (name: String, password: String) {
        ("\(directory.netbiosName)\\svc-printplane", directory.password(for: "svc-printplane"))
    }
}
