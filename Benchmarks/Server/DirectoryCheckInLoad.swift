import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOSSL
import PrintplaneCore
import PrintplaneServer
import ServiceLifecycle
import Sim

/// What directory integration costs a check-in, measured in one run against a reference:
///
/// - **warm**: the "unchanged" path of a configuration with AD group and OU assignments (the
///   directory facts come from the in-memory cache) against the same path of a configuration
///   without them (the existing cheap path), both through `CheckInPlanner.plan` over SQLite,
///   alternately, best round of each;
/// - **warm over HTTPS**: the same two check-ins end to end, one at a time over a kept-alive TLS
///   connection to a server in this process (what an agent sees);
/// - **cold**: the latency of one uncached lookup (user and computer found, their nested groups
///   resolved with the in-chain rule) against the simulated AD over LDAPS, pool warm.
enum DirectoryCheckInLoad {
    struct Parameters: Sendable {
        var users = 2_000
        var groups = 200
        var computers = 500
        var iterations = 200_000
        var rounds = 3
        var coldLookups = 300
        var httpRequests = 5_000

        /// DIRECTORY_BENCH_USERS, DIRECTORY_BENCH_ITERATIONS, DIRECTORY_BENCH_LOOKUPS.
        static func fromEnvironment() -> Parameters {
            let environment = ProcessInfo.processInfo.environment
            var parameters = Parameters()
            if let value = environment["DIRECTORY_BENCH_USERS"].flatMap(Int.init), value > 0 { parameters.users = value }
            if let value = environment["DIRECTORY_BENCH_ITERATIONS"].flatMap(Int.init), value > 0 { parameters.iterations = value }
            if let value = environment["DIRECTORY_BENCH_LOOKUPS"].flatMap(Int.init), value > 0 { parameters.coldLookups = value }
            return parameters
        }
    }

    struct Result: Sendable {
        var referenceNanoseconds: Double
        var directoryNanoseconds: Double
        var httpReferenceMicroseconds: Double = 0
        var httpDirectoryMicroseconds: Double = 0
        var coldMicroseconds: [Double]
        var parameters: Parameters
        var ratio: Double { self.directoryNanoseconds / self.referenceNanoseconds }
        var httpRatio: Double { self.httpDirectoryMicroseconds / self.httpReferenceMicroseconds }

        func percentile(_ p: Double) -> Double {
            let sorted = self.coldMicroseconds.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }

        var summary: String {
            "check-in unchanged path (planner): without directory targets \(String(format: "%.2f", self.referenceNanoseconds / 1000)) µs, "
                + "with group/OU targets (warm cache) \(String(format: "%.2f", self.directoryNanoseconds / 1000)) µs, ratio \(String(format: "%.2f", self.ratio)); "
                + "over HTTPS, one at a time: \(String(format: "%.0f", self.httpReferenceMicroseconds)) µs vs \(String(format: "%.0f", self.httpDirectoryMicroseconds)) µs, "
                + "ratio \(String(format: "%.3f", self.httpRatio)); "
                + "cold lookup against the simulated AD (\(self.parameters.users) users, \(self.parameters.groups) groups, \(self.parameters.computers) computers, LDAPS): "
                + "p50 \(String(format: "%.2f", self.percentile(0.5) / 1000)) ms, p90 \(String(format: "%.2f", self.percentile(0.9) / 1000)) ms, "
                + "p99 \(String(format: "%.2f", self.percentile(0.99) / 1000)) ms over \(self.coldMicroseconds.count)"
        }
    }

    struct CheckFailed: Error, CustomStringConvertible {
        var description: String
    }

    static func measure(_ parameters: Parameters) async throws -> Result {
        var logger = Logger(label: "printplane.bench")
        logger.logLevel = .error
        let ad = try SimulatedADServer(
            configuration: SimulatedADConfiguration(
                host: "127.0.0.1", port: 0, ldapsPort: 0, startTLS: true,
                directory: .init(seed: 42, users: parameters.users, groups: parameters.groups, computers: parameters.computers)),
            logger: logger)
        let services = ServiceGroup(configuration: .init(services: [.init(service: ad)], logger: logger))
        return try await withThrowingTaskGroup(of: Result?.self) { tasks in
            tasks.addTask {
                try await services.run()
                return nil
            }
            do {
                let result = try await self.run(parameters, ad: ad, logger: logger)
                await services.triggerGracefulShutdown()
                return result
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
        }
    }

    private static func run(_ parameters: Parameters, ad: SimulatedADServer, logger: Logger) async throws -> Result {
        let ldapsPort = try await ad.listeningAddresses().ldapsPort!
        let directory = ad.directory
        let base = directory.baseDN.description
        let people = directory.people.compactMap { $0.string("sAMAccountName") }.filter { $0 != "Administrator" && $0 != "svc-printplane" }
        let computers = directory.entries.filter { $0.hasObjectClass("computer") }.compactMap { $0.string("cn") }
        let dataDirectory = NSTemporaryDirectory() + "printplane-bench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }

        // Two configurations of 40 printers: the reference has user, computer, IP-range and
        // everyone assignments; the other has the same plus group and OU assignments.
        func configure(_ store: SQLiteStore, directoryTargets: Bool) async throws {
            let audit = AuditEntry(at: Date(), actor: "bench", action: "bench", target: "-")
            for index in 0..<40 {
                let printer = PrinterRecord(id: PrinterID("p\(index)"), name: "Printer \(index)", address: "10.0.\(index).1", protocol: .raw, port: 9100, queue: nil, location: nil, site: nil, driverID: nil)
                try await store.createPrinter(printer, audit: audit)
                let target: AssignmentTarget
                switch index % 4 {
                case 0: target = .everyone
                case 1: target = .user(people[index % people.count])
                case 2: target = .computer(computers[index % computers.count])
                default: target = .ipRange(IPRange("10.\(index).0.0/16")!)
                }
                try await store.createAssignment(Assignment(id: AssignmentID("a\(index)"), printerID: printer.id, profileID: nil, target: target), audit: audit)
                if directoryTargets {
                    let extra: AssignmentTarget = index % 2 == 0
                        ? .group(try DistinguishedName(index % 4 == 0 ? "CN=All Staff,OU=Groups,\(base)" : "CN=London Staff,OU=Groups,\(base)"))
                        : .organizationalUnit(try DistinguishedName("OU=London,OU=Sites,\(base)"))
                    try await store.createAssignment(Assignment(id: AssignmentID("g\(index)"), printerID: printer.id, profileID: nil, target: extra), audit: audit)
                }
            }
        }
        let referenceStore = try SQLiteStore(path: dataDirectory + "/reference.sqlite")
        try await configure(referenceStore, directoryTargets: false)
        let directoryStore = try SQLiteStore(path: dataDirectory + "/directory.sqlite")
        try await configure(directoryStore, directoryTargets: true)

        let secrets = try DirectorySecretBox(source: .base64(Self.directoryKey))
        let sealed = try secrets.seal(directory.password(for: "svc-printplane"))
        _ = try await directoryStore.saveDirectorySettings(
            StoredDirectorySettings(
                url: "ldaps://127.0.0.1:\(ldapsPort)", startTLS: false, caPEM: ad.certificateAuthority!.caCertificatePEM, baseDN: base,
                bindDN: "CORP\\svc-printplane", sealedBindPassword: sealed.combined, keyID: sealed.keyID, flavour: "auto", cacheTTLSeconds: 3600,
                adminGroupDN: nil, updatedAt: Date()),
            audit: AuditEntry(at: Date(), actor: "bench", action: "directory.create", target: "-"))
        let service = DirectoryService(store: directoryStore, secrets: secrets, logger: logger)
        do {
            let result = try await self.measure(parameters, service: service, referenceStore: referenceStore, directoryStore: directoryStore, people: people, computers: computers)
            await service.shutdown()
            return result
        } catch {
            await service.shutdown()
            throw error
        }
    }

    private static func measure(
        _ parameters: Parameters, service: DirectoryService, referenceStore: SQLiteStore, directoryStore: SQLiteStore, people: [String], computers: [String]
    ) async throws -> Result {
        try await service.refresh()

        let referencePlanner = CheckInPlanner(store: referenceStore)
        let directoryPlanner = CheckInPlanner(store: directoryStore, directory: service)
        let user = people[7]
        let computer = computers[3]
        let referenceAgent = AgentAuthentication(agentID: "agent-1", hostname: computer, credentialRevoked: false, generation: try await referenceStore.planningSnapshot().generation)
        let directoryAgent = AgentAuthentication(agentID: "agent-1", hostname: computer, credentialRevoked: false, generation: try await directoryStore.planningSnapshot().generation)

        func unchangedRequest(_ planner: CheckInPlanner, _ agent: AgentAuthentication) async throws -> CheckInRequest {
            var request = CheckInRequest(user: user, ipAddresses: ["10.7.1.2"], installed: [], planETag: nil)
            guard case .plan(let plan, let etag) = try await planner.plan(for: agent, request: request) else { throw CheckFailed(description: "expected a first plan") }
            guard !plan.printers.isEmpty else { throw CheckFailed(description: "the plan is empty") }
            request.planETag = etag
            guard case .unchanged = try await planner.plan(for: agent, request: request) else { throw CheckFailed(description: "expected unchanged") }
            return request
        }
        let referenceRequest = try await unchangedRequest(referencePlanner, referenceAgent)
        let directoryRequest = try await unchangedRequest(directoryPlanner, directoryAgent)

        func timeUnchanged(_ planner: CheckInPlanner, _ agent: AgentAuthentication, _ request: CheckInRequest) async throws -> Double {
            let start = ContinuousClock.now
            for _ in 0..<parameters.iterations {
                guard case .unchanged = try await planner.plan(for: agent, request: request) else { throw CheckFailed(description: "left the unchanged path") }
            }
            let elapsed = ContinuousClock.now - start
            return (Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9) / Double(parameters.iterations)
        }
        var best = (reference: Double.infinity, directory: Double.infinity)
        for round in 0..<parameters.rounds {
            // Alternate which goes first so a noisy neighbour hits both alike.
            if round % 2 == 0 {
                best.reference = min(best.reference, try await timeUnchanged(referencePlanner, referenceAgent, referenceRequest))
                best.directory = min(best.directory, try await timeUnchanged(directoryPlanner, directoryAgent, directoryRequest))
            } else {
                best.directory = min(best.directory, try await timeUnchanged(directoryPlanner, directoryAgent, directoryRequest))
                best.reference = min(best.reference, try await timeUnchanged(referencePlanner, referenceAgent, referenceRequest))
            }
        }

        let http = try await self.overHTTPS(parameters, referenceStore: referenceStore, directoryStore: directoryStore, user: user, computer: computer)

        // Cold lookups: a new (user, computer) key each time, so every one asks the directory.
        var cold = [Double]()
        for index in 0..<min(parameters.coldLookups, people.count) {
            let start = ContinuousClock.now
            let facts = try await service.facts(user: people[index], computer: computers[index % computers.count])
            let elapsed = ContinuousClock.now - start
            guard facts.user != nil, facts.computer != nil, !(facts.user?.groups.isEmpty ?? true) else {
                throw CheckFailed(description: "lookup \(index) did not resolve \(people[index]) on \(computers[index % computers.count]): \(facts)")
            }
            cold.append(Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12)
        }
        return Result(
            referenceNanoseconds: best.reference, directoryNanoseconds: best.directory, httpReferenceMicroseconds: http.reference,
            httpDirectoryMicroseconds: http.directory, coldMicroseconds: cold, parameters: parameters)
    }

    static let directoryKey = Data((0..<32).map { UInt8($0) }).base64EncodedString()

    /// Unchanged check-ins over HTTPS against two servers in this process, one per store,
    /// alternately, best of the rounds; microseconds per check-in.
    private static func overHTTPS(_ parameters: Parameters, referenceStore: SQLiteStore, directoryStore: SQLiteStore, user: String, computer: String) async throws -> (reference: Double, directory: Double) {
        var logger = Logger(label: "printplane.bench.server")
        logger.logLevel = .error
        func server(_ store: SQLiteStore) throws -> PrintplaneServer {
            var configuration = ServerConfiguration(dataDirectory: NSTemporaryDirectory() + "printplane-bench-" + UUID().uuidString)
            configuration.port = 0
            configuration.directoryKey = Self.directoryKey
            // Never shed or stretch: this measures the path, not the load shedder.
            configuration.checkInSoftRate = 1e9
            configuration.checkInHardRate = 1e9
            return try PrintplaneServer.build(configuration: configuration, logger: logger, store: store)
        }
        let servers = [try server(referenceStore), try server(directoryStore)]
        let group = ServiceGroup(configuration: .init(services: servers.map { .init(service: $0) }, logger: logger))
        return try await withThrowingTaskGroup(of: (Double, Double)?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            do {
                var targets = [(url: String, client: HTTPClient, credential: String, body: ByteBuffer)]()
                for server in servers {
                    let port = try await server.waitUntilListening()
                    var tls = TLSConfiguration.makeClientConfiguration()
                    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(server.identity.caCertificatePath))
                    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
                    let token = SecretToken.generate(.enrollment)
                    let credential = SecretToken.generate(.device)
                    let now = Date()
                    try await server.store.createEnrollmentToken(
                        EnrollmentTokenRecord(id: .random(), tokenHash: token.sha256Hex, label: nil, createdAt: now, expiresAt: nil, maxUses: nil),
                        audit: AuditEntry(at: now, actor: "bench", action: "token.create", target: "-"))
                    _ = try await server.store.enroll(
                        tokenHash: token.sha256Hex, request: EnrollRequest(token: token.value, hostname: computer, machineID: UUID().uuidString, os: "linux", agentVersion: "bench"),
                        credentialHash: credential.sha256Hex, at: now)
                    let url = "https://127.0.0.1:\(port)/api/v1/agent/checkin"
                    let first = try await Self.checkIn(client, url, credential.value, CheckInRequest(user: user, ipAddresses: ["10.7.1.2"], installed: [], planETag: nil))
                    guard first.status == .plan, let plan = first.plan, !plan.printers.isEmpty else { throw CheckFailed(description: "no plan over HTTPS") }
                    let body = ByteBuffer(bytes: try WireCoding.makeEncoder().encode(CheckInRequest(user: user, ipAddresses: ["10.7.1.2"], installed: [], planETag: first.etag)))
                    targets.append((url, client, credential.value, body))
                }
                func time(_ target: (url: String, client: HTTPClient, credential: String, body: ByteBuffer)) async throws -> Double {
                    let start = ContinuousClock.now
                    for _ in 0..<parameters.httpRequests {
                        var request = HTTPClientRequest(url: target.url)
                        request.method = .POST
                        request.headers.add(name: "Authorization", value: "Bearer \(target.credential)")
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(target.body)
                        let response = try await target.client.execute(request, timeout: .seconds(30))
                        let bytes = try await response.body.collect(upTo: 1 << 20)
                        guard response.status == .ok, String(buffer: bytes).contains("\"unchanged\"") else { throw CheckFailed(description: "HTTPS check-in not unchanged: \(response.status)") }
                    }
                    let elapsed = ContinuousClock.now - start
                    return (Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12) / Double(parameters.httpRequests)
                }
                var best = (reference: Double.infinity, directory: Double.infinity)
                for round in 0..<parameters.rounds {
                    if round % 2 == 0 {
                        best.reference = min(best.reference, try await time(targets[0]))
                        best.directory = min(best.directory, try await time(targets[1]))
                    } else {
                        best.directory = min(best.directory, try await time(targets[1]))
                        best.reference = min(best.reference, try await time(targets[0]))
                    }
                }
                for target in targets { try await target.client.shutdown() }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return best
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }

    private static func checkIn(_ client: HTTPClient, _ url: String, _ credential: String, _ body: CheckInRequest) async throws -> CheckInResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(credential)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try WireCoding.makeEncoder().encode(body)))
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw CheckFailed(description: "check-in answered \(response.status): \(String(buffer: bytes))") }
        return try WireCoding.makeDecoder().decode(CheckInResponse.self, from: Data(bytes.readableBytesView))
    }
}
