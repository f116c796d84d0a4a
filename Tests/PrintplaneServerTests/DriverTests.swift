import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import PrintplaneCore
import Testing

@testable import PrintplaneServer

@Suite("Driver upload and download over TLS")
struct DriverTests {
    static func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func upload(_ server: TestServer, _ bytes: Data, name: String = "Universal", version: String = "1.0", os: String = "windows") async throws -> DriverRecord {
        let query = "name=\(name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&version=\(version)&os=\(os)"
        let response = try await server.request(.POST, "/api/v1/admin/drivers?\(query)", body: bytes, contentType: "application/octet-stream", bearer: server.adminKey)
        #expect(response.status == 201, "\(response.text)")
        return try response.decode(DriverRecord.self)
    }

    @Test("an uploaded driver is stored by sha256, signed, planned, and downloads byte-identical; Range resume gives identical bytes")
    func uploadDownloadResume() async throws {
        try await withTestServer { server in
            let bytes = Self.randomBytes(1_000_003)
            let driver = try await Self.upload(server, bytes)
            let sha256 = SHA256.hash(data: bytes).hexString
            #expect(driver.manifest.manifest.sha256 == sha256 && driver.manifest.manifest.size == 1_000_003)
            #expect(FileManager.default.fileExists(atPath: "\(server.dataDirectory)/drivers/\(sha256)"))

            let agent = try await server.enrolledAgent()
            let key = try #require(Curve25519.Signing.PublicKey(base64: agent.driverSigningPublicKey))
            try driver.manifest.verify(contents: bytes, publicKey: key)

            // The plan carries the signed manifest and the cloud source.
            let printer = try await CheckInTests.printer(server, "with-driver", driverID: driver.id.rawValue)
            try await CheckInTests.assign(server, printer, "everyone", nil)
            let plan = try CheckInTests.plan(try await server.checkIn(agent.deviceCredential)).plan
            let planned = try #require(plan?.printers.first?.driver)
            #expect(planned.manifest == driver.manifest && planned.sources == ["/api/v1/drivers/\(sha256)"])

            let whole = try await server.request(.GET, "/api/v1/drivers/\(sha256)", bearer: agent.deviceCredential)
            #expect(whole.status == 200 && whole.body == bytes)
            #expect(whole.headers.first(name: "ETag") == "\"\(sha256)\"")

            let head = try await server.request(.GET, "/api/v1/drivers/\(sha256)", headers: [("Range", "bytes=0-299999")], bearer: agent.deviceCredential)
            #expect(head.status == 206 && head.body.count == 300_000)
            #expect(head.headers.first(name: "Content-Range") == "bytes 0-299999/1000003")
            let tail = try await server.request(.GET, "/api/v1/drivers/\(sha256)", headers: [("Range", "bytes=300000-")], bearer: agent.deviceCredential)
            #expect(tail.status == 206)
            #expect(head.body + tail.body == bytes)
            try driver.manifest.verify(contents: head.body + tail.body, publicKey: key)

            let suffix = try await server.request(.GET, "/api/v1/drivers/\(sha256)", headers: [("Range", "bytes=-10")], bearer: agent.deviceCredential)
            #expect(suffix.body == bytes.suffix(10))
            let beyond = try await server.request(.GET, "/api/v1/drivers/\(sha256)", headers: [("Range", "bytes=2000000-")], bearer: agent.deviceCredential)
            #expect(beyond.status == 416 && beyond.headers.first(name: "Content-Range") == "bytes */1000003")

            let cached = try await server.request(.GET, "/api/v1/drivers/\(sha256)", headers: [("If-None-Match", "\"\(sha256)\"")], bearer: agent.deviceCredential)
            #expect(cached.status == 304 && cached.body.isEmpty)

            let anonymous = try await server.request(.GET, "/api/v1/drivers/\(sha256)")
            #expect(anonymous.status == 401 && anonymous.reason == "credential_missing")

            // Same bytes again: stored once, a second manifest record.
            _ = try await Self.upload(server, bytes, version: "1.0.1")
            let blobs = try FileManager.default.contentsOfDirectory(atPath: "\(server.dataDirectory)/drivers").filter { !$0.hasPrefix(".") }
            #expect(blobs == [sha256])
        }
    }

    @Test("a tampered blob on disk is detected by manifest verification")
    func tamperedBlob() async throws {
        try await withTestServer { server in
            let bytes = Self.randomBytes(65_536)
            let driver = try await Self.upload(server, bytes)
            let agent = try await server.enrolledAgent()
            let key = try #require(Curve25519.Signing.PublicKey(base64: agent.driverSigningPublicKey))
            let path = "\(server.dataDirectory)/drivers/\(driver.manifest.manifest.sha256)"
            var tampered = bytes
            tampered[1234] ^= 0xff
            try tampered.write(to: URL(fileURLWithPath: path))

            let response = try await server.request(.GET, "/api/v1/drivers/\(driver.manifest.manifest.sha256)", bearer: agent.deviceCredential)
            #expect(response.status == 200 && response.body == tampered)
            #expect(throws: DriverVerificationError.digestMismatch) { try driver.manifest.verify(contents: response.body, publicKey: key) }
        }
    }

    @Test("downloads past the concurrency limit get 503 with Retry-After, and a slot frees when a download ends")
    func concurrencyLimit() async throws {
        try await withTestServer(configure: { $0.maxConcurrentDownloads = 1 }) { server in
            let bytes = Self.randomBytes(24 * 1024 * 1024)
            let driver = try await Self.upload(server, bytes)
            let sha256 = driver.manifest.manifest.sha256
            let agent = try await server.enrolledAgent()

            // Start one download and hold it open by not reading its body.
            var request = HTTPClientRequest(url: server.baseURL + "/api/v1/drivers/\(sha256)")
            request.headers.add(name: "Authorization", value: "Bearer \(agent.deviceCredential)")
            let holding = try await server.client.execute(request, timeout: .seconds(30))
            #expect(holding.status.code == 200)

            let refused = try await server.request(.GET, "/api/v1/drivers/\(sha256)", bearer: agent.deviceCredential)
            #expect(refused.status == 503 && refused.reason == "downloads_busy")
            #expect(Int(refused.headers.first(name: "Retry-After") ?? "") != nil)

            let received = try await holding.body.collect(upTo: 64 * 1024 * 1024)
            #expect(received.readableBytes == bytes.count)
            var admitted = false
            for _ in 0..<50 where !admitted {
                let again = try await server.request(.GET, "/api/v1/drivers/\(sha256)", headers: [("Range", "bytes=0-9")], bearer: agent.deviceCredential)
                admitted = again.status == 206
                if !admitted { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(admitted)
            let metrics = try await server.request(.GET, "/metrics").text
            #expect(metrics.contains("printplane_driver_downloads_refused_total 1"))
        }
    }
}
