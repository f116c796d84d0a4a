import Foundation
import LDAP
import Logging
import ServiceLifecycle
import Sim

/// Bind + search round trips per second, the way a directory client authenticates and looks a
/// user up: bind as the service account, search one user by sAMAccountName for the
/// attributes Printplane reads. The same client code, the same number of connections and the
/// same request sequence run against the simulated AD and against slapd serving the simulated
/// AD's own LDIF export, alternately, best round of each.
enum BindSearchLoad {
    struct Parameters: Sendable {
        var users = 10_000
        var groups = 500
        var computers = 1_000
        var connections = 4
        var roundDuration: Duration = .seconds(3)
        var rounds = 3

        /// LDAP_BENCH_USERS, LDAP_BENCH_CONNECTIONS, LDAP_BENCH_SECONDS, LDAP_BENCH_ROUNDS.
        static func fromEnvironment() -> Parameters {
            let environment = ProcessInfo.processInfo.environment
            var parameters = Parameters()
            if let value = environment["LDAP_BENCH_USERS"].flatMap(Int.init), value > 0 { parameters.users = value }
            if let value = environment["LDAP_BENCH_CONNECTIONS"].flatMap(Int.init), value > 0 { parameters.connections = value }
            if let value = environment["LDAP_BENCH_SECONDS"].flatMap(Int.init), value > 0 { parameters.roundDuration = .seconds(value) }
            if let value = environment["LDAP_BENCH_ROUNDS"].flatMap(Int.init), value > 0 { parameters.rounds = value }
            return parameters
        }
    }

    struct Result: Sendable {
        /// Round trips (bind + search) per second.
        var simulatedAD: Double
        var slapd: Double
        var entries: Int
        var parameters: Parameters
        var ratio: Double { self.simulatedAD / self.slapd }

        var summary: String {
            "bind+search, \(self.entries) entries, \(self.parameters.connections) connections, best of \(self.parameters.rounds) × \(self.parameters.roundDuration): "
                + "simulated AD \(Int(self.simulatedAD))/s, slapd \(Int(self.slapd))/s, ratio \(String(format: "%.2f", self.ratio))"
        }
    }

    struct CheckFailed: Error, CustomStringConvertible {
        var description: String
    }

    static let attributes = ["sAMAccountName", "userPrincipalName", "displayName", "mail", "memberOf", "objectSid", "objectGUID", "userAccountControl"]

    static func measure(_ parameters: Parameters) async throws -> Result {
        var logger = Logger(label: "printplane.bench")
        logger.logLevel = .error
        let configuration = SimulatedADConfiguration(
            host: "127.0.0.1", port: 0, ldapsPort: nil, startTLS: false,
            directory: .init(seed: 42, users: parameters.users, groups: parameters.groups, computers: parameters.computers))
        let server = try SimulatedADServer(configuration: configuration, logger: logger)
        let directory = server.directory
        let base = directory.baseDN.description
        let serviceDN = "CN=svc-printplane,CN=Users,\(base)"
        let password = directory.password(for: "svc-printplane")
        let names = directory.people.compactMap { $0.string("sAMAccountName") }
        let ldif = Slapd.withPasswords(directory.ldif()) { directory.password(for: $0) }
        let slapd = try await Slapd.start(ldif: ldif, suffix: base)
        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))

        do {
            let result = try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let adPort = try await server.listeningAddresses().ldapPort
                var best = (ad: 0.0, slapd: 0.0)
                for round in 0..<parameters.rounds {
                    // Alternate which goes first so a noisy neighbour hits both alike.
                    let order = round % 2 == 0 ? [adPort, slapd.port] : [slapd.port, adPort]
                    for port in order {
                        let rate = try await self.run(port: port, base: base, bindDN: serviceDN, password: password, names: names, parameters: parameters)
                        if port == adPort { best.ad = max(best.ad, rate) } else { best.slapd = max(best.slapd, rate) }
                    }
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return Result(simulatedAD: best.ad, slapd: best.slapd, entries: directory.entries.count, parameters: parameters)
            }
            await slapd.stop()
            return result
        } catch {
            await slapd.stop()
            throw error
        }
    }

    /// `parameters.connections` clients, each binding and searching in a loop for one round.
    static func run(port: Int, base: String, bindDN: String, password: String, names: [String], parameters: Parameters) async throws -> Double {
        let configuration = LDAPClientConfiguration(host: "127.0.0.1", port: port, connectTimeout: .seconds(5), operationTimeout: .seconds(10))
        var connections: [LDAPConnection] = []
        for _ in 0..<parameters.connections { connections.append(try await LDAPConnection.connect(configuration: configuration)) }
        let start = ContinuousClock.now
        let deadline = start + parameters.roundDuration
        let counted: Swift.Result<Int, any Error>
        do {
            counted = .success(try await self.load(connections: connections, deadline: deadline, port: port, base: base, bindDN: bindDN, password: password, names: names))
        } catch {
            counted = .failure(error)
        }
        let elapsed = ContinuousClock.now - start
        for connection in connections { await connection.close() }
        let total = try counted.get()
        return Double(total) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    private static func load(connections: [LDAPConnection], deadline: ContinuousClock.Instant, port: Int, base: String, bindDN: String, password: String, names: [String]) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { workers in
            for (worker, connection) in connections.enumerated() {
                workers.addTask {
                    var done = 0
                    var index = worker * 7919
                    while ContinuousClock.now < deadline {
                        let name = names[index % names.count]
                        index += 104_729
                        try await connection.bind(name: bindDN, password: password)
                        let filter = LDAPFilter.and([.equality(attribute: "objectClass", value: Array("user".utf8)), .equality(attribute: "sAMAccountName", value: Array(name.utf8))])
                        let result = try await connection.search(SearchRequest(baseObject: base, filter: filter, attributes: Self.attributes))
                        guard result.entries.count == 1, result.entries[0].strings(of: "sAMAccountName").first?.lowercased() == name.lowercased(),
                              result.entries[0].values(of: "objectSid").count == 1 else {
                            throw CheckFailed(description: "port \(port): search for \(name) returned \(result.entries.map(\.objectName))")
                        }
                        done += 1
                    }
                    return done
                }
            }
            return try await workers.reduce(0, +)
        }
    }
}
