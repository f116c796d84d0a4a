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

/// A LAN driver cache for tests, over plain HTTP on 127.0.0.1: serves the genuine bytes,
/// tampered bytes of the same size, or a transfer cut half-way that must be resumed with
/// `Range`. It records the Range header of every request.
final class TestDriverCache: Sendable {
    let genuine: ByteBuffer
    let ranges = NIOLockedValueBox([String]())

    init(genuine: ByteBuffer) { self.genuine = genuine }

    struct Cut: Error {}

    func application(onRunning: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Router()
        let genuine = self.genuine
        let ranges = self.ranges
        router.get("genuine") { _, _ in Response(status: .ok, body: .init(byteBuffer: genuine)) }
        router.get("tampered") { _, _ in
            var bytes = genuine
            let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self)!
            bytes.setInteger(first ^ 0xFF, at: bytes.readerIndex)
            return Response(status: .ok, body: .init(byteBuffer: bytes))
        }
        router.get("cut") { request, _ in
            let range = request.headers[.range]
            ranges.withLockedValue { $0.append(range ?? "none") }
            if let range, range.hasPrefix("bytes="), let start = Int(range.dropFirst(6).dropLast()) {
                let rest = genuine.getSlice(at: genuine.readerIndex + start, length: genuine.readableBytes - start)!
                var headers = HTTPFields()
                headers[.contentRange] = "bytes \(start)-\(genuine.readableBytes - 1)/\(genuine.readableBytes)"
                return Response(status: .partialContent, headers: headers, body: .init(byteBuffer: rest))
            }
            let half = genuine.getSlice(at: genuine.readerIndex, length: genuine.readableBytes / 2)!
            return Response(status: .ok, body: .init(contentLength: genuine.readableBytes) { writer in
                try await writer.write(half)
                throw Cut()
            })
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { onRunning($0.localAddress?.port ?? 0) }, logger: testLogger("printplane.cache.test"))
    }
}

/// Runs the cache for the duration of `body`, passing its base URL.
func withDriverCache<T: Sendable>(_ cache: TestDriverCache, _ body: @Sendable (String) async throws -> T) async throws -> T {
    try await withLocalApplication(cache.application) { port in try await body("http://127.0.0.1:\(port)") }
}

/// Runs a local HTTP application (made with a callback that receives its bound port) for the
/// duration of `body`, passing the port; shut down gracefully afterwards, also on failure.
func withLocalApplication<App: ApplicationProtocol, T: Sendable>(
    _ make: (@escaping @Sendable (Int) -> Void) -> App, _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let port = NIOLockedValueBox(0)
    let app = make { value in port.withLockedValue { $0 = value } }
    let group = ServiceGroup(configuration: .init(services: [app], logger: testLogger("printplane.cache.test")))
    return try await withThrowingTaskGroup(of: T?.self) { tasks in
        tasks.addTask { try await group.run(); return nil }
        while port.withLockedValue({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        do {
            let result = try await body(port.withLockedValue { $0 })
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

/// Records what the fetcher reports.
final class RecordingObserver: AgentObserver {
    let downloads = NIOLockedValueBox([(source: String, error: String?)]())
    func driverDownload(sha256: String, source: String, bytes: Int64, duration: Duration, error: String?) {
        self.downloads.withLockedValue { $0.append((source, error)) }
    }
    func retryAfter(seconds: Int, route: String) {}
}

@Suite struct DriverVerificationTests {
    let key = Curve25519.Signing.PrivateKey()
    let bytes: ByteBuffer = {
        var buffer = ByteBuffer()
        for index in 0..<200_000 { buffer.writeInteger(UInt8(truncatingIfNeeded: index &* 31 &+ 7)) }
        return buffer
    }()

    func planned(sources: [String], tamperSignature: Bool = false) throws -> PlannedDriver {
        let manifest = DriverManifest(name: "Generic", version: "1.0", os: "linux", sha256: SHA256.hash(data: Data(self.bytes.readableBytesView)).hexString, size: Int64(self.bytes.readableBytes))
        var signed = try SignedDriverManifest(signing: manifest, with: self.key)
        if tamperSignature {
            var raw = Data(base64Encoded: signed.signature)!
            raw[0] ^= 0x01
            signed.signature = raw.base64EncodedString()
        }
        return PlannedDriver(id: .random(), manifest: signed, sources: sources)
    }

    func fetcher(store: any DriverStore, observer: any AgentObserver, http: HTTPClientTransport) -> DriverFetcher {
        let identity = AgentIdentity(
            serverURL: "https://cloud.invalid", agentID: .random(), deviceCredential: "device_secret", driverSigningPublicKey: "",
            hostname: "ws", machineID: "m", enrolledAt: Date(), checkinIntervalSeconds: 60)
        return DriverFetcher(http: http, store: store, clock: SystemAgentClock(), observer: observer, logger: testLogger("printplane.agent.test"), identity: identity, publicKey: self.key.publicKey)
    }

    func transport() throws -> HTTPClientTransport {
        // Any CA will do: the cache is plain HTTP.
        try HTTPClientTransport(caPEM: try CertificateAuthority.generate().certificatePEM)
    }

    @Test func aTamperedSourceIsRejectedAndTheNextSourceUsed() async throws {
        let cache = TestDriverCache(genuine: self.bytes)
        try await withDriverCache(cache) { base in
            let directory = makeTemporaryDirectory()
            let store = try FileDriverStore(directory: directory)
            let observer = RecordingObserver()
            let http = try self.transport()
            let (stored, downloaded) = try await self.fetcher(store: store, observer: observer, http: http).ensure(try self.planned(sources: ["\(base)/tampered", "\(base)/genuine"]))
            try await http.shutdown()
            #expect(stored.sha256 == SHA256.hash(data: Data(self.bytes.readableBytesView)).hexString)
            #expect(downloaded == 2 * Int64(self.bytes.readableBytes))
            let reports = observer.downloads.withLockedValue { $0 }
            #expect(reports.count == 2)
            #expect(reports[0].source.hasSuffix("/tampered") && reports[0].error?.contains("verification") == true)
            #expect(reports[1].source.hasSuffix("/genuine") && reports[1].error == nil)
            // Only the verified file is in the store; the tampered bytes were discarded.
            let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(files == ["\(stored.sha256).driver"])
            #expect(FileManager.default.contents(atPath: stored.path!) == Data(self.bytes.readableBytesView))
        }
    }

    @Test func onlyTamperedSourcesMeansNothingIsInstalled() async throws {
        let cache = TestDriverCache(genuine: self.bytes)
        try await withDriverCache(cache) { base in
            let directory = makeTemporaryDirectory()
            let store = try FileDriverStore(directory: directory)
            let http = try self.transport()
            await #expect(throws: AgentError.self) {
                _ = try await self.fetcher(store: store, observer: RecordingObserver(), http: http).ensure(try self.planned(sources: ["\(base)/tampered", "\(base)/tampered"]))
            }
            try await http.shutdown()
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        }
    }

    @Test func aBadSignatureIsRejectedFromEverySource() async throws {
        let cache = TestDriverCache(genuine: self.bytes)
        try await withDriverCache(cache) { base in
            let directory = makeTemporaryDirectory()
            let store = try FileDriverStore(directory: directory)
            let observer = RecordingObserver()
            let http = try self.transport()
            do {
                _ = try await self.fetcher(store: store, observer: observer, http: http).ensure(try self.planned(sources: ["\(base)/genuine", "\(base)/cut"], tamperSignature: true))
                Issue.record("a badly signed manifest was accepted")
            } catch let error as AgentError {
                #expect(error.description.contains("signature"))
            }
            try await http.shutdown()
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
            // Even a driver already in the store is not trusted under a bad signature.
            let sha = SHA256.hash(data: Data(self.bytes.readableBytesView)).hexString
            try Data(self.bytes.readableBytesView).write(to: URL(fileURLWithPath: "\(directory)/\(sha).driver"))
            let again = try self.transport()
            await #expect(throws: AgentError.self) {
                _ = try await self.fetcher(store: store, observer: observer, http: again).ensure(try self.planned(sources: ["\(base)/genuine"], tamperSignature: true))
            }
            try await again.shutdown()
        }
    }

    @Test func aCutTransferResumesWithRange() async throws {
        let cache = TestDriverCache(genuine: self.bytes)
        try await withDriverCache(cache) { base in
            let store = try FileDriverStore(directory: makeTemporaryDirectory())
            let http = try self.transport()
            let (stored, _) = try await self.fetcher(store: store, observer: RecordingObserver(), http: http).ensure(try self.planned(sources: ["\(base)/cut"]))
            try await http.shutdown()
            #expect(FileManager.default.contents(atPath: stored.path!) == Data(self.bytes.readableBytesView))
            let ranges = cache.ranges.withLockedValue { $0 }
            #expect(ranges.first == "none")
            #expect(ranges.count == 2)
            #expect(ranges.last?.hasPrefix("bytes=") == true && ranges.last != "bytes=0-")
        }
    }

    @Test func aDriverChangedOnDiskIsNotTrusted() async throws {
        let directory = makeTemporaryDirectory()
        let store = try FileDriverStore(directory: directory)
        let sha = SHA256.hash(data: Data(self.bytes.readableBytesView)).hexString
        var changed = Data(self.bytes.readableBytesView)
        changed[10] ^= 0xFF
        try changed.write(to: URL(fileURLWithPath: "\(directory)/\(sha).driver"))
        #expect(try await store.driver(sha256: sha) == nil)
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/\(sha).driver"))
    }

    @Test func theMemoryStoreVerifiesWithoutKeepingBytes() async throws {
        let store = MemoryDriverStore()
        let sha = SHA256.hash(data: Data(self.bytes.readableBytesView)).hexString
        let partial = try await store.partial(sha256: sha)
        try await partial.append(self.bytes.getSlice(at: 0, length: 1000)!)
        try await partial.append(self.bytes.getSlice(at: 1000, length: self.bytes.readableBytes - 1000)!)
        #expect(try await partial.digest() == sha)
        _ = try await partial.commit()
        #expect(try await store.driver(sha256: sha)?.size == Int64(self.bytes.readableBytes))
    }
}
