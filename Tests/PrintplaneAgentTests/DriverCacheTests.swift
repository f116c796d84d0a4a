import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PrintplaneCore
import PrintplaneServer
import PrintplaneTestSupport
import ServiceLifecycle
import Testing
import X509

@testable import PrintplaneAgent

/// The reference server on 127.0.0.1 and a real LAN cache on 127.0.0.2, enrolled with a
/// token, registered for 10.1.0.0/16 and running with a certificate the server's CA signed.
final class CacheWorld: @unchecked Sendable {
    let server: RestartableServer
    let stateDirectory: String
    let host = "127.0.0.2"
    let port: Int
    var configuration: DriverCacheConfiguration
    let cacheID: DriverCacheID
    let agentID: AgentID
    let client: HTTPClient
    private var running: (group: ServiceGroup, task: Task<Void, Error>, service: DriverCacheService)?

    var service: DriverCacheService { self.running!.service }
    var url: String { "https://\(self.host):\(self.port)" }
    var caPath: String { "\(self.server.dataDirectory)/ca.pem" }

    private init(server: RestartableServer, stateDirectory: String, port: Int, configuration: DriverCacheConfiguration, cacheID: DriverCacheID, agentID: AgentID, client: HTTPClient) {
        self.server = server
        self.stateDirectory = stateDirectory
        self.port = port
        self.configuration = configuration
        self.cacheID = cacheID
        self.agentID = agentID
        self.client = client
    }

    static func freePort(host: String) async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: host, port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    static func make(configure: (inout DriverCacheConfiguration) -> Void = { _ in }) async throws -> CacheWorld {
        let server = RestartableServer()
        try await server.start()
        let stateDirectory = makeTemporaryDirectory() + "/cache"
        let port = try await Self.freePort(host: "127.0.0.2")
        var configuration = DriverCacheConfiguration(stateDirectory: stateDirectory)
        configuration.host = "127.0.0.2"
        configuration.port = port
        configuration.missWait = .seconds(30)
        configure(&configuration)
        let token = try await server.admin { try await $0.createToken(expiresIn: "1h", maxUses: 1, label: "cache") }
        let identity = try await DriverCacheEnrollment.enroll(
            configuration: configuration, serverURL: server.url, caPEM: server.caPEM, token: token.token ?? "",
            machine: DriverCacheEnrollment.machine(hostname: "cache-test", machineID: UUID().uuidString), logger: testLogger("printplane.cache.test"))
        let cache = try await server.admin {
            try await $0.registerDriverCache(.init(name: "test-cache", url: "https://127.0.0.2:\(port)", agentID: identity.agentID, ranges: ["10.1.0.0/16"]))
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(server.caPEM.utf8)))
        var clientConfiguration = HTTPClient.Configuration(tlsConfiguration: tls)
        clientConfiguration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        let world = CacheWorld(
            server: server, stateDirectory: stateDirectory, port: port, configuration: configuration, cacheID: cache.id, agentID: identity.agentID,
            client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration))
        try await world.startCache()
        return world
    }

    func startCache() async throws {
        let logger = testLogger("printplane.cache.test")
        let service = try DriverCacheService(configuration: self.configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        let task = Task { try await group.run() }
        self.running = (group, task, service)
        _ = try await service.waitUntilListening(timeout: .seconds(60))
    }

    func stopCache() async {
        guard let running else { return }
        self.running = nil
        await running.group.triggerGracefulShutdown()
        _ = try? await running.task.value
    }

    func close() async {
        await self.stopCache()
        await self.server.stop()
        try? await self.client.shutdown()
    }

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
        var reason: String? { (try? WireCoding.makeDecoder().decode(APIErrorBody.self, from: self.body))?.reason }
    }

    func get(_ path: String, method: HTTPMethod = .GET, headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: self.url + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await self.client.execute(request, timeout: .seconds(90))
        let body = try await response.body.collect(upTo: 256 * 1024 * 1024)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Data(body.readableBytesView))
    }

    func upload(_ size: Int, version: String = "1.0") async throws -> (DriverRecord, Data) {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let record = try await self.server.admin { try await $0.uploadDriver(name: "Generic PCL6", version: version, os: "linux", contents: ByteBuffer(data: data)) }
        return (record, data)
    }

    /// The control plane's `printplane_driver_bytes_total`.
    func serverDriverBytes() async throws -> Int {
        var request = HTTPClientRequest(url: self.server.url + "/metrics")
        request.method = .GET
        let response = try await self.client.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 4 * 1024 * 1024))
        let line = text.split(separator: "\n").first { $0.hasPrefix("printplane_driver_bytes_total ") }
        return line.flatMap { Int(Double($0.split(separator: " ").last ?? "") ?? -1) } ?? 0
    }
}

/// Byte-for-byte equality, without handing megabytes to `#expect`'s diff (quadratic on a mismatch).
func identical(_ a: Data?, _ b: Data) -> Bool { a == b }

/// A short description of an answer body: its size and, when it is text, its start.
func describe(_ body: Data) -> String {
    "\(body.count) bytes: \(String(decoding: body.prefix(300), as: UTF8.self))"
}

func withCacheWorld<T: Sendable>(configure: (inout DriverCacheConfiguration) -> Void = { _ in }, _ body: (CacheWorld) async throws -> T) async throws -> T {
    let world = try await CacheWorld.make(configure: configure)
    do {
        let result = try await body(world)
        await world.close()
        return result
    } catch {
        await world.close()
        throw error
    }
}

/// The LAN driver cache against the real server over TLS: how it serves, what it fetches,
/// what it refuses, and how it behaves when the cloud goes away or revokes it.
@Suite("LAN driver cache", .serialized)
struct DriverCacheTests {
    @Test("serves like the cloud: whole, HEAD, Range, ETag/If-None-Match; 400 on a bad digest, 404 on an unknown one, 416 past the end")
    func servesLikeTheCloud() async throws {
        try await withCacheWorld { world in
            let (driver, data) = try await world.upload(700_001)
            let sha = driver.manifest.manifest.sha256
            let whole = try await world.get("/drivers/\(sha)")
            #expect(whole.status == 200, "\(describe(whole.body))")
            #expect(identical(whole.body, data))
            #expect(whole.headers.first(name: "ETag") == "\"\(sha)\"")
            #expect(whole.headers.first(name: "Accept-Ranges") == "bytes")
            let head = try await world.get("/drivers/\(sha)", method: .HEAD)
            #expect(head.status == 200 && head.body.isEmpty)
            #expect(head.headers.first(name: "Content-Length") == "700001")
            let part = try await world.get("/drivers/\(sha)", headers: [("Range", "bytes=100-199")])
            #expect(part.status == 206)
            #expect(part.headers.first(name: "Content-Range") == "bytes 100-199/700001")
            #expect(part.body == data[100..<200])
            let tail = try await world.get("/drivers/\(sha)", headers: [("Range", "bytes=700000-")])
            #expect(tail.status == 206 && tail.body == data[700_000...])
            let same = try await world.get("/drivers/\(sha)", headers: [("If-None-Match", "\"\(sha)\"")])
            #expect(same.status == 304 && same.body.isEmpty)
            let past = try await world.get("/drivers/\(sha)", headers: [("Range", "bytes=700001-")])
            #expect(past.status == 416 && past.reason == "range_not_satisfiable")
            #expect(past.headers.first(name: "Content-Range") == "bytes */700001")
            for bad in ["xyz", String(repeating: "A", count: 64), String(repeating: "a", count: 63)] {
                let answer = try await world.get("/drivers/\(bad)")
                #expect(answer.status == 400 && answer.reason == "invalid_digest", "\(bad)")
            }
            let unknown = try await world.get("/drivers/\(String(repeating: "0", count: 64))")
            #expect(unknown.status == 404 && unknown.reason == "unknown_driver")

            let metrics = world.service.metrics.snapshot
            #expect(metrics.misses == 1, "only the first request waited for the cloud")
            #expect(metrics.hits == 5)
            #expect(metrics.upstreamFetches == 1)
            #expect(metrics.upstreamBytes == 700_001)
            #expect(metrics.unknownDigests == 1)
            let health = try await world.get("/healthz")
            #expect(health.status == 200)
            let report = try WireCoding.makeDecoder().decode(DriverCacheService.Health.self, from: health.body)
            #expect(report.status == "ok" && report.cache == "test-cache" && report.packages == 1)
            let text = String(decoding: try await world.get("/metrics").body, as: UTF8.self)
            #expect(text.contains("printplane_cache_hits_total 5"))
            #expect(text.contains("printplane_cache_upstream_fetches_total 1"))
        }
    }

    @Test("concurrent misses for one digest share one upstream fetch; the cloud sends the package once")
    func oneFetchForConcurrentMisses() async throws {
        try await withCacheWorld { world in
            let (driver, data) = try await world.upload(3 * 1024 * 1024)
            let sha = driver.manifest.manifest.sha256
            let bodies = try await withThrowingTaskGroup(of: Data.self) { group in
                for _ in 0..<24 { group.addTask { try await world.get("/drivers/\(sha)").body } }
                return try await group.reduce(into: [Data]()) { $0.append($1) }
            }
            #expect(bodies.count == 24)
            #expect(bodies.allSatisfy { identical($0, data) })
            let metrics = world.service.metrics.snapshot
            #expect(metrics.upstreamFetches == 1)
            #expect(metrics.hits + metrics.misses == 24)
            #expect(metrics.misses >= 1)
            #expect(try await world.serverDriverBytes() == data.count, "the cloud sent the package once")
        }
    }

    @Test("past the download limit: 503 with Retry-After, and a slot frees when a download ends")
    func busy() async throws {
        try await withCacheWorld(configure: { $0.maxConcurrentDownloads = 1 }) { world in
            let (driver, data) = try await world.upload(24 * 1024 * 1024)
            let sha = driver.manifest.manifest.sha256
            #expect(identical(try await world.get("/drivers/\(sha)").body, data))
            var request = HTTPClientRequest(url: world.url + "/drivers/\(sha)")
            request.method = .GET
            let holding = try await world.client.execute(request, timeout: .seconds(30))
            #expect(holding.status.code == 200)
            let refused = try await world.get("/drivers/\(sha)")
            #expect(refused.status == 503 && refused.reason == "downloads_busy")
            #expect(Int(refused.headers.first(name: "Retry-After") ?? "") != nil)
            #expect(try await holding.body.collect(upTo: 64 * 1024 * 1024).readableBytes == data.count)
            var admitted = false
            for _ in 0..<100 where !admitted {
                admitted = try await world.get("/drivers/\(sha)", headers: [("Range", "bytes=0-9")]).status == 206
                if !admitted { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(admitted)
            #expect(world.service.metrics.snapshot.refusedBusy == 1)
        }
    }

    @Test("a package the cloud serves tampered is refused, logged, never served, not kept, and not fetched again during the back-off")
    func tamperedUpstream() async throws {
        try await withCacheWorld(configure: { $0.failureBackoff = .seconds(2) }) { world in
            let (driver, data) = try await world.upload(400_000)
            let sha = driver.manifest.manifest.sha256
            // The bytes on the cloud's disk change under their name: same size, one byte off.
            let blob = "\(world.server.dataDirectory)/drivers/\(sha)"
            var tampered = data
            tampered[1000] ^= 0x01
            try tampered.write(to: URL(fileURLWithPath: blob))
            let refused = try await world.get("/drivers/\(sha)")
            #expect(refused.status == 502 && refused.reason == "upstream_failed", "\(String(decoding: refused.body, as: UTF8.self))")
            #expect(!refused.body.contains(tampered[0..<64]))
            #expect(world.service.metrics.snapshot.verificationFailures == 1)
            #expect(world.service.metrics.snapshot.bytesServed == 0)
            let files = try FileManager.default.contentsOfDirectory(atPath: world.configuration.driversDirectory)
            #expect(files.isEmpty, "nothing unverified is kept: \(files)")
            let again = try await world.get("/drivers/\(sha)")
            #expect(again.status == 502)
            #expect(world.service.metrics.snapshot.upstreamFetches == 1, "not fetched again during the back-off")

            // The cloud's copy is repaired: after the back-off the cache fetches, verifies, serves.
            try data.write(to: URL(fileURLWithPath: blob))
            try await Task.sleep(for: .seconds(2.5))
            let served = try await world.get("/drivers/\(sha)")
            #expect(served.status == 200, "\(describe(served.body))")
            #expect(identical(served.body, data))
            #expect(world.service.metrics.snapshot.upstreamFetches == 2)
        }
    }

    @Test("with the cloud down it serves what it holds, also after a restart; what it lacks is answered 502 so agents move on")
    func cloudDown() async throws {
        try await withCacheWorld(configure: {
            $0.manifestRefreshInterval = .seconds(3600)
            $0.upstreamConnectTimeout = .seconds(2)
            $0.upstreamAttempts = 2
        }) { world in
            let (held, heldData) = try await world.upload(300_000, version: "1.0")
            let heldSHA = held.manifest.manifest.sha256
            let (lacking, _) = try await world.upload(200_000, version: "2.0")
            #expect(identical(try await world.get("/drivers/\(heldSHA)").body, heldData))
            await world.server.stop()
            #expect(identical(try await world.get("/drivers/\(heldSHA)").body, heldData))
            let missing = try await world.get("/drivers/\(lacking.manifest.manifest.sha256)")
            #expect(missing.status == 502 && missing.reason == "upstream_failed", "\(String(decoding: missing.body, as: UTF8.self))")

            // A restart while the cloud is down: the saved list, the verified files and the
            // stored certificate are enough.
            await world.stopCache()
            try await world.startCache()
            let afterRestart = try await world.get("/drivers/\(heldSHA)")
            #expect(afterRestart.status == 200, "\(describe(afterRestart.body))")
            #expect(identical(afterRestart.body, heldData))
            #expect(world.service.metrics.snapshot.hits == 1)
        }
    }

    @Test("revoking the cache's credential: it stops serving, its CSR is refused, and plans no longer name it")
    func revocation() async throws {
        try await withCacheWorld(configure: { $0.manifestRefreshInterval = .seconds(1) }) { world in
            let (driver, data) = try await world.upload(100_000)
            let sha = driver.manifest.manifest.sha256
            #expect(identical(try await world.get("/drivers/\(sha)").body, data))
            try await world.server.admin { try await $0.revokeAgent(id: world.agentID) }
            var answer = try await world.get("/drivers/\(sha)")
            let deadline = ContinuousClock.now + .seconds(20)
            while answer.status == 200, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                answer = try await world.get("/drivers/\(sha)")
            }
            #expect(answer.status == 502 && answer.reason == "credential_refused")
            #expect(try await world.get("/healthz").status == 503)
            await #expect(throws: DriverCacheError.self) {
                _ = try await (try world.service.upstream).certificate(csrPEM: try world.service.tls.signingRequest(names: ["127.0.0.2"]))
            }
            // An agent in the cache's range is sent to the cloud only.
            let fleet = try await world.server.admin { admin -> String in
                let printer = try await admin.createPrinter(name: "hq-1", address: "10.1.9.9", protocol: .raw, port: 9100, queue: nil, driverID: driver.id)
                _ = try await admin.createAssignment(printerID: printer.id, target: .everyone)
                return try await admin.createToken(expiresIn: "1h", maxUses: nil, label: "fleet").token ?? ""
            }
            let agent = try await DiskAgent.make(caPEM: world.server.caPEM)
            try await agent.agent.enroll(serverURL: world.server.url, token: fleet, machine: testMachine)
            _ = await agent.agent.checkIn(user: nil, ipAddresses: ["10.1.0.7"])
            #expect(await agent.agent.state.installed.first?.printer.driver?.sources == ["/api/v1/drivers/\(sha)"])
            await agent.close()
        }
    }

    @Test("curl --cacert ca.pem trusts the cache's certificate (signed by the control plane's CA for its registered host) and gets the package; another CA is refused")
    func curlTrustsTheCache() async throws {
        try await withCacheWorld { world in
            let (driver, data) = try await world.upload(250_000)
            let sha = driver.manifest.manifest.sha256
            let output = makeTemporaryDirectory() + "/driver.bin"
            let fetched = try await ExternalTool.run("curl", ["--silent", "--show-error", "--fail", "--cacert", world.caPath, "-o", output, world.url + "/drivers/\(sha)"])
            #expect(fetched.status == 0, "\(fetched.stderr)")
            #expect(identical(FileManager.default.contents(atPath: output), data))
            let ranged = try await ExternalTool.run("curl", ["--silent", "--show-error", "--fail", "--cacert", world.caPath, "-r", "10-19", world.url + "/drivers/\(sha)", "-o", output + ".part"])
            #expect(ranged.status == 0, "\(ranged.stderr)")
            #expect(FileManager.default.contents(atPath: output + ".part") == data[10..<20])
            let otherCA = makeTemporaryDirectory() + "/other.pem"
            try CertificateAuthority.generate().certificatePEM.write(toFile: otherCA, atomically: true, encoding: .utf8)
            let stranger = try await ExternalTool.run("curl", ["--silent", "--show-error", "--cacert", otherCA, world.url + "/healthz"])
            #expect(stranger.status == 60, "curl exit 60: peer certificate cannot be authenticated; got \(stranger.status) \(stranger.stderr)")
            // The chain as OpenSSL sees it.
            let chain = try await ExternalTool.run("openssl", ["s_client", "-connect", "127.0.0.2:\(world.port)", "-CAfile", world.caPath, "-verify_return_error", "-verify_ip", "127.0.0.2", "-brief"], timeout: 20)
            #expect(chain.stderr.contains("Verification: OK") || chain.stdout.contains("Verification: OK"), "\(chain.stdout) \(chain.stderr)")
        }
    }

    @Test("a renewed certificate is served from the next handshake without restarting the listener")
    func certificateRotation() async throws {
        try await withCacheWorld { world in
            func servedSerial() async throws -> String {
                let result = try await ExternalTool.run("sh", ["-c", "openssl s_client -connect 127.0.0.2:\(world.port) -CAfile '\(world.caPath)' </dev/null 2>/dev/null | openssl x509 -noout -serial"], timeout: 20)
                return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let before = try await servedSerial()
            #expect(before.hasPrefix("serial="))
            let issued = try await (try world.service.upstream).certificate(csrPEM: try world.service.tls.signingRequest(names: ["127.0.0.2"]))
            try world.service.tls.install(certificatePEM: issued.certificate)
            let after = try await servedSerial()
            #expect(after.hasPrefix("serial=") && after != before, "\(before) → \(after)")
            let expected = try Certificate(pemEncoded: issued.certificate).serialNumber.bytes.map { String(format: "%02X", $0) }.joined()
            #expect(after.hasSuffix(expected), "\(after) vs \(expected)")
            let caches = try await world.server.admin { try await $0.listDriverCaches() }
            #expect(caches.first?.certificateNotAfter != nil)
        }
    }

    @Test("agents in the cache's range install from it; agents outside, and agents whose cache is down, from the cloud")
    func agentsUseTheCache() async throws {
        try await withCacheWorld { world in
            let (driver, _) = try await world.upload(1_500_000)
            let sha = driver.manifest.manifest.sha256
            let token = try await world.server.admin { admin -> String in
                let printer = try await admin.createPrinter(name: "hq-1", address: "10.1.9.9", protocol: .raw, port: 9100, queue: nil, driverID: driver.id)
                _ = try await admin.createAssignment(printerID: printer.id, target: .everyone)
                return try await admin.createToken(expiresIn: "1h", maxUses: nil, label: "fleet").token ?? ""
            }
            func agent(_ machine: String, _ address: String) async throws -> (DiskAgent, CheckInOutcome) {
                let agent = try await DiskAgent.make(caPEM: world.server.caPEM)
                try await agent.agent.enroll(serverURL: world.server.url, token: token, machine: .init(hostname: machine, machineID: machine, os: "linux", agentVersion: "test"))
                return (agent, await agent.agent.checkIn(user: nil, ipAddresses: [address]))
            }
            let (inside, insideOutcome) = try await agent("ws-in", "10.1.0.7")
            #expect(insideOutcome.summary.hasPrefix("applied"), "\(insideOutcome.summary)")
            #expect(await inside.agent.state.installed.first?.printer.driver?.sources == [world.url + "/drivers/\(sha)", "/api/v1/drivers/\(sha)"])
            #expect(await inside.agent.state.installed.first?.driverSHA256 == sha)
            #expect(world.service.metrics.snapshot.bytesServed == 1_500_000)
            #expect(try await world.serverDriverBytes() == 1_500_000, "only the cache's one fetch crossed to the cloud")

            let (outside, outsideOutcome) = try await agent("ws-out", "10.2.0.7")
            #expect(outsideOutcome.summary.hasPrefix("applied"))
            #expect(await outside.agent.state.installed.first?.printer.driver?.sources == ["/api/v1/drivers/\(sha)"])
            #expect(try await world.serverDriverBytes() == 3_000_000)

            await world.stopCache()
            let start = ContinuousClock.now
            let (fallback, fallbackOutcome) = try await agent("ws-in-2", "10.1.0.8")
            #expect(fallbackOutcome.summary.hasPrefix("applied"), "\(fallbackOutcome.summary)")
            // One connect timeout (10 s, retried refusals) on the dead cache, then the cloud.
            #expect(ContinuousClock.now - start < .seconds(25))
            #expect(await fallback.agent.state.installed.first?.driverSHA256 == sha)
            #expect(try await world.serverDriverBytes() == 4_500_000)
            for agent in [inside, outside, fallback] { await agent.close() }
        }
    }
}
