import AsyncHTTPClient
import Foundation
import NIOCore
import PrintplaneCore
import Testing

@testable import PrintplaneServer

@Suite("Bad input over TLS: a 4xx with a JSON reason, nothing stored, no crash")
struct BadInputTests {
    @Test("malformed, oversized, mistyped, traversing, unauthenticated and huge-header requests")
    func badInput() async throws {
        try await withTestServer(configure: { $0.maxDriverBytes = 1024 * 1024 }) { server in
            let agent = try await server.enrolledAgent()
            let (token, _) = try await server.createToken()
            let credential = agent.deviceCredential
            func expect(_ response: TestResponse, _ status: Int, _ reason: String, _ note: String) {
                #expect(response.status == status, "\(note): \(response.status) \(response.text)")
                #expect(response.reason == reason, "\(note): \(response.text)")
                #expect(response.headers.first(name: "Content-Type") == "application/json", "\(note)")
            }

            expect(try await server.request(.POST, "/api/v1/agent/enroll", body: Data(#"{"token": "#.utf8)), 400, "malformed_json", "truncated JSON")
            expect(try await server.request(.POST, "/api/v1/agent/enroll", body: Data(#"{"token": 5}"#.utf8)), 400, "malformed_json", "wrong field type")
            expect(try await server.request(.POST, "/api/v1/agent/checkin", body: Data("[]".utf8), bearer: credential), 400, "malformed_json", "array for object")
            expect(try await server.request(.POST, "/api/v1/agent/jobs", body: Data("\u{0}\u{1}garbage".utf8), bearer: credential), 400, "malformed_json", "binary garbage")
            let longName = String(repeating: "h", count: 300)
            expect(try await server.enroll(token: token, hostname: longName), 400, "invalid_field", "overlong hostname")

            let oversized = Data(#"{"token":""#.utf8) + Data(repeating: UInt8(ascii: "a"), count: 300 * 1024) + Data(#""}"#.utf8)
            expect(try await server.request(.POST, "/api/v1/agent/enroll", body: oversized), 413, "body_too_large", "oversized enroll")
            let bigBatch = Data(repeating: UInt8(ascii: " "), count: 5 * 1024 * 1024)
            expect(try await server.request(.POST, "/api/v1/agent/jobs", body: bigBatch, bearer: credential), 413, "body_too_large", "oversized batch")
            let bigDriver = Data(repeating: 7, count: 1024 * 1024 + 1)
            expect(try await server.request(.POST, "/api/v1/admin/drivers?name=x&version=1&os=w", body: bigDriver, contentType: "application/octet-stream", bearer: server.adminKey), 413, "body_too_large", "oversized driver")

            expect(try await server.request(.POST, "/api/v1/admin/drivers?name=..%2F..%2Fetc%2Fpasswd&version=1&os=w", body: Data("x".utf8), contentType: "application/octet-stream", bearer: server.adminKey), 400, "invalid_driver_name", "traversal in driver name")
            expect(try await server.request(.POST, "/api/v1/admin/drivers?name=ok&version=..&os=w", body: Data("x".utf8), contentType: "application/octet-stream", bearer: server.adminKey), 400, "invalid_driver_name", "dot-dot version")
            expect(try await server.request(.GET, "/api/v1/drivers/..%2F..%2Fadmin.key", bearer: credential), 400, "invalid_digest", "traversal in download")
            expect(try await server.request(.GET, "/api/v1/drivers/" + String(repeating: "0", count: 64), bearer: credential), 404, "not_found", "unknown digest")

            expect(try await server.request(.POST, "/api/v1/agent/enroll", body: Data("{}".utf8), contentType: "text/plain"), 415, "unsupported_media_type", "text/plain JSON")
            expect(try await server.request(.POST, "/api/v1/agent/enroll", body: Data("{}".utf8), contentType: nil), 415, "unsupported_media_type", "no content type")
            expect(try await server.request(.POST, "/api/v1/admin/drivers?name=x&version=1&os=w", body: Data("x".utf8), contentType: "application/json", bearer: server.adminKey), 415, "unsupported_media_type", "driver as JSON")

            expect(try await server.request(.POST, "/api/v1/agent/checkin", body: Data("{}".utf8)), 401, "credential_missing", "no bearer")
            expect(try await server.request(.POST, "/api/v1/agent/checkin", headers: [("Authorization", "Basic YWxpY2U6cHc=")], body: Data("{}".utf8)), 401, "credential_malformed", "basic auth")
            expect(try await server.request(.POST, "/api/v1/agent/checkin", body: Data("{}".utf8), bearer: "ppd_short"), 401, "credential_malformed", "short bearer")
            expect(try await server.request(.POST, "/api/v1/agent/checkin", body: Data("{}".utf8), bearer: server.adminKey), 401, "credential_malformed", "admin key as device credential")
            expect(try await server.request(.GET, "/api/v1/admin/tokens", bearer: credential), 401, "admin_key_invalid", "device credential as admin key")
            expect(try await server.request(.GET, "/api/v1/admin/tokens"), 401, "credential_missing", "admin without bearer")

            expect(try await server.request(.GET, "/api/v1/agent/ping", headers: [("X-Padding", String(repeating: "p", count: 32 * 1024))], bearer: credential), 431, "header_too_large", "32 KiB header")
            expect(try await server.request(.GET, "/no/such/route"), 404, "not_found", "unknown route")

            // Past NIO's own 80 KiB header cap the parser refuses it; still a JSON reason.
            expect(try await server.request(.GET, "/healthz", headers: [("X-Padding", String(repeating: "p", count: 200 * 1024))]), 431, "header_too_large", "200 KiB header")

            // Nothing was stored by any of that, and the server still answers.
            #expect(try await server.request(.GET, "/healthz").status == 200)
            #expect(try await server.server.store.agents().count == 1)
            #expect(try await server.server.store.drivers().isEmpty)
            #expect(try await server.server.store.jobTotals(matching: JobFilter()).jobs == 0)
            let blobs = try FileManager.default.contentsOfDirectory(atPath: server.dataDirectory + "/drivers")
            #expect(blobs.isEmpty, "\(blobs)")
        }
    }
}
