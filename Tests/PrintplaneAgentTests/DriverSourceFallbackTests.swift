import Crypto
import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PrintplaneCore
import ServiceLifecycle
import Testing

@testable import PrintplaneAgent

/// A misbehaving LAN cache and a well-behaved "cloud" on one plain-HTTP listener: each route
/// is one way a cache can fail. It records, per route, every request's `Range` and
/// `Authorization` headers.
final class FaultySources: Sendable {
    let genuine: ByteBuffer
    let requests = NIOLockedValueBox([(route: String, range: String?, authorization: String?)]())

    init(genuine: ByteBuffer) { self.genuine = genuine }

    struct Cut: Error {}

    func requests(to route: String) -> [(route: String, range: String?, authorization: String?)] {
        self.requests.withLockedValue { $0.filter { $0.route == route } }
    }

    var tampered: ByteBuffer {
        var bytes = self.genuine
        bytes.setInteger(bytes.getInteger(at: bytes.readerIndex, as: UInt8.self)! ^ 0xFF, at: bytes.readerIndex)
        return bytes
    }

    func application(onRunning: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Router()
        let genuine = self.genuine
        let tampered = self.tampered
        let log = self.requests
        @Sendable func note(_ route: String, _ request: Request) {
            log.withLockedValue { $0.append((route, request.headers[.range], request.headers[.authorization])) }
        }
        @Sendable func rangeStart(_ request: Request) -> Int? {
            request.headers[.range].flatMap { $0.hasPrefix("bytes=") ? Int($0.dropFirst(6).dropLast()) : nil }
        }
        // The cloud: honours Range.
        router.get("cloud") { request, _ in
            note("cloud", request)
            if let start = rangeStart(request) {
                var headers = HTTPFields()
                headers[.contentRange] = "bytes \(start)-\(genuine.readableBytes - 1)/\(genuine.readableBytes)"
                return Response(status: .partialContent, headers: headers, body: .init(byteBuffer: genuine.getSlice(at: start, length: genuine.readableBytes - start)!))
            }
            return Response(status: .ok, body: .init(byteBuffer: genuine))
        }
        router.get("tampered") { request, _ in
            note("tampered", request)
            return Response(status: .ok, body: .init(byteBuffer: tampered))
        }
        // A complete answer of the wrong length (a truncated file on the cache's disk).
        router.get("truncated") { request, _ in
            note("truncated", request)
            return Response(status: .ok, body: .init(byteBuffer: genuine.getSlice(at: 0, length: genuine.readableBytes / 2)!))
        }
        router.get("error") { request, _ in
            note("error", request)
            return Response(status: .internalServerError)
        }
        router.get("busy") { request, _ in
            note("busy", request)
            var headers = HTTPFields()
            headers[.retryAfter] = "1"
            return Response(status: .serviceUnavailable, headers: headers)
        }
        // Headers, then nothing: the agent's read timeout ends it.
        router.get("stall") { request, _ in
            note("stall", request)
            return Response(status: .ok, body: .init(contentLength: genuine.readableBytes) { writer in
                try await Task.sleep(for: .seconds(8))
                try await writer.finish(nil)
            })
        }
        // A kilobyte every 200 ms, forever.
        router.get("trickle") { request, _ in
            note("trickle", request)
            return Response(status: .ok, body: .init(contentLength: genuine.readableBytes) { writer in
                var offset = 0
                while offset < genuine.readableBytes {
                    try await writer.write(genuine.getSlice(at: offset, length: min(1024, genuine.readableBytes - offset))!)
                    offset += 1024
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await writer.finish(nil)
            })
        }
        // Wrong bytes, then a cut; afterwards it errors: a cache that poisons a partial file.
        router.get("poison") { request, _ in
            note("poison", request)
            if request.headers[.range] != nil { return Response(status: .internalServerError) }
            return Response(status: .ok, body: .init(contentLength: genuine.readableBytes) { writer in
                try await writer.write(tampered.getSlice(at: 0, length: genuine.readableBytes / 2)!)
                throw Cut()
            })
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { onRunning($0.localAddress?.port ?? 0) }, logger: testLogger("printplane.cache.test"))
    }
}

func withFaultySources<T: Sendable>(_ sources: FaultySources, _ body: @Sendable (Int) async throws -> T) async throws -> T {
    try await withLocalApplication(sources.application, body)
}

/// The agent's side of a LAN cache (DESIGN.md §3): the cache is tried first; a cache that is
/// down, stalled, trickling, busy, answers an unexpected status, or sends a tampered,
/// truncated or poisoned package makes the agent move on to the cloud, and only verified
/// bytes are installed; the device credential is sent to the cloud only.
@Suite("Agent: LAN cache first, then the cloud")
struct DriverSourceFallbackTests {
    let key = Curve25519.Signing.PrivateKey()
    let bytes: ByteBuffer = {
        var buffer = ByteBuffer()
        for index in 0..<300_000 { buffer.writeInteger(UInt8(truncatingIfNeeded: index &* 131 &+ 17)) }
        return buffer
    }()
    var sha256: String { SHA256.hash(data: Data(self.bytes.readableBytesView)).hexString }

    func planned(_ sources: [String]) throws -> PlannedDriver {
        let manifest = DriverManifest(name: "Generic", version: "1.0", os: "linux", sha256: self.sha256, size: Int64(self.bytes.readableBytes))
        return PlannedDriver(id: .random(), manifest: try SignedDriverManifest(signing: manifest, with: self.key), sources: sources)
    }

    /// Fetches `sources` with the cloud at `http://127.0.0.1:port` (the credential's only
    /// destination); caches are addressed as `http://localhost:port/...`, another origin.
    func fetch(port: Int, _ sources: [String], timeout: TimeAmount = .seconds(30), tune: (inout DriverFetcher) -> Void = { _ in }) async throws -> (StoredDriver, RecordingObserver, String, Duration) {
        let directory = makeTemporaryDirectory()
        let identity = AgentIdentity(
            serverURL: "http://127.0.0.1:\(port)", agentID: .random(), deviceCredential: "device_secret", driverSigningPublicKey: "",
            hostname: "ws", machineID: "m", enrolledAt: Date(), checkinIntervalSeconds: 60)
        let http = try HTTPClientTransport(caPEM: try CertificateAuthority.generate().certificatePEM, timeout: timeout)
        let observer = RecordingObserver()
        var fetcher = DriverFetcher(
            http: http, store: try FileDriverStore(directory: directory), clock: SystemAgentClock(), observer: observer,
            logger: testLogger("printplane.agent.test"), identity: identity, publicKey: self.key.publicKey)
        tune(&fetcher)
        let start = ContinuousClock.now
        do {
            let (stored, _) = try await fetcher.ensure(try self.planned(sources))
            try await http.shutdown()
            return (stored, observer, directory, ContinuousClock.now - start)
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    func expectInstalledFromTheCloud(_ stored: StoredDriver, _ observer: RecordingObserver, _ directory: String) throws {
        #expect(identical(FileManager.default.contents(atPath: stored.path!), Data(self.bytes.readableBytesView)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["\(self.sha256).driver"], "nothing but the verified file")
        let reports = observer.downloads.withLockedValue { $0 }
        #expect(reports.count == 2)
        #expect(reports.first?.error != nil)
        #expect(reports.last?.source.hasSuffix("/cloud") == true && reports.last?.error == nil)
    }

    @Test("a good cache is used alone, without the credential; the cloud is asked with it")
    func cacheFirstWithoutCredential() async throws {
        let sources = FaultySources(genuine: self.bytes)
        try await withFaultySources(sources) { port in
            let (stored, observer, _, _) = try await self.fetch(port: port, ["http://localhost:\(port)/cloud", "/cloud"])
            #expect(identical(FileManager.default.contents(atPath: stored.path!), Data(self.bytes.readableBytesView)))
            #expect(observer.downloads.withLockedValue { $0.map(\.source) } == ["http://localhost:\(port)/cloud"])
            #expect(sources.requests(to: "cloud").map(\.authorization) == [nil], "the LAN cache never sees the device credential")

            let (_, _, _, _) = try await self.fetch(port: port, ["http://localhost:\(port)/tampered", "/cloud"])
            #expect(sources.requests(to: "tampered").map(\.authorization) == [nil])
            #expect(sources.requests(to: "cloud").last?.authorization == "Bearer device_secret", "the cloud gets the credential")
        }
    }

    @Test("a tampered package from the cache is discarded and the cloud's installed")
    func tampered() async throws {
        let sources = FaultySources(genuine: self.bytes)
        try await withFaultySources(sources) { port in
            let (stored, observer, directory, _) = try await self.fetch(port: port, ["http://localhost:\(port)/tampered", "/cloud"])
            try self.expectInstalledFromTheCloud(stored, observer, directory)
            #expect(observer.downloads.withLockedValue { $0.first?.error }?.hasPrefix("verification") == true)
        }
    }

    @Test("a cache that is down is left after one connect timeout, not eight attempts")
    func down() async throws {
        let sources = FaultySources(genuine: self.bytes)
        try await withFaultySources(sources) { port in
            // Port 1 on loopback: nothing listens, the connection is refused. AsyncHTTPClient
            // retries refused connections until its connect timeout (10 s here, as in the
            // daemon); then the cloud. Eight attempts would take well over a minute.
            let (stored, observer, directory, elapsed) = try await self.fetch(port: port, ["http://localhost:1/drivers/x", "/cloud"])
            try self.expectInstalledFromTheCloud(stored, observer, directory)
            #expect(elapsed < .seconds(20), "\(elapsed)")
        }
    }

    @Test("a stalled cache is left after the read timeout, a trickling one once it falls below the minimum rate")
    func stalledAndTrickling() async throws {
        let sources = FaultySources(genuine: self.bytes)
        try await withFaultySources(sources) { port in
            let (stored, observer, directory, elapsed) = try await self.fetch(port: port, ["http://localhost:\(port)/stall", "/cloud"], timeout: .seconds(2))
            try self.expectInstalledFromTheCloud(stored, observer, directory)
            #expect(elapsed < .seconds(15), "\(elapsed)")
            #expect(sources.requests(to: "stall").count == 1, "no byte came, so no retry")

            let trickled = try await self.fetch(port: port, ["http://localhost:\(port)/trickle", "/cloud"]) {
                $0.slowSourceGrace = .seconds(1)
                $0.minimumFallbackRate = 64 * 1024
            }
            try self.expectInstalledFromTheCloud(trickled.0, trickled.1, trickled.2)
            #expect(trickled.1.downloads.withLockedValue { $0.first?.error }?.contains("too slow") == true)
            #expect(trickled.3 < .seconds(10), "\(trickled.3)")
            #expect(sources.requests(to: "cloud").last?.range == nil, "the trickled bytes were discarded, not resumed from the cloud")
        }
    }

    @Test("a truncated package, an unexpected status and a cache that stays busy each send the agent to the cloud")
    func truncatedErrorBusy() async throws {
        let sources = FaultySources(genuine: self.bytes)
        try await withFaultySources(sources) { port in
            for route in ["truncated", "error"] {
                let (stored, observer, directory, elapsed) = try await self.fetch(port: port, ["http://localhost:\(port)/\(route)", "/cloud"])
                try self.expectInstalledFromTheCloud(stored, observer, directory)
                #expect(sources.requests(to: route).count == 1, "\(route): left at once")
                // Eight attempts with their back-off would take far longer; the bound is loose
                // because the cloud's download is in it too, on a possibly loaded CI machine.
                #expect(elapsed < .seconds(15), "\(route): \(elapsed)")
            }
            let busy = try await self.fetch(port: port, ["http://localhost:\(port)/busy", "/cloud"]) { $0.busyAttemptsBeforeFallback = 2 }
            try self.expectInstalledFromTheCloud(busy.0, busy.1, busy.2)
            #expect(sources.requests(to: "busy").count == 3, "two Retry-After waits, then the cloud")
        }
    }

    @Test("wrong bytes from a cache that then cuts are not completed by the cloud: the cloud starts afresh")
    func poisonedPartial() async throws {
        let sources = FaultySources(genuine: self.bytes)
        try await withFaultySources(sources) { port in
            let (stored, observer, directory, _) = try await self.fetch(port: port, ["http://localhost:\(port)/poison", "/cloud"])
            try self.expectInstalledFromTheCloud(stored, observer, directory)
            #expect(sources.requests(to: "poison").count == 2, "resumed once with Range after the cut, then given up")
            #expect(sources.requests(to: "cloud").map(\.range) == [nil], "the cloud sent the whole package")
        }
    }

    @Test("when the cloud is the only source, a cut is still resumed and a 503 still waited out")
    func lastSourceKeepsPatience() async throws {
        let sources = FaultySources(genuine: self.bytes)
        try await withFaultySources(sources) { port in
            let (stored, _, _, _) = try await self.fetch(port: port, ["/cloud"])
            #expect(identical(FileManager.default.contents(atPath: stored.path!), Data(self.bytes.readableBytesView)))
            await #expect(throws: AgentError.self) {
                _ = try await self.fetch(port: port, ["/busy"]) {
                    $0.attemptsPerSource = 3
                }
            }
            #expect(sources.requests(to: "busy").count == 3, "the last source is asked every attempt")
        }
    }
}
