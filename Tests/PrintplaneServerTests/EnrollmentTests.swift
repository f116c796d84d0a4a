import AsyncHTTPClient
import Foundation
import NIOSSL
import PrintplaneCore
import Testing

@testable import PrintplaneServer

@Suite("Start-up, tokens and enrollment over TLS")
struct EnrollmentTests {
    @Test("first start creates the database, CA, server certificate, driver key and a 0600 admin key; TLS below 1.2 is refused")
    func firstStart() async throws {
        try await withTestServer { server in
            let fm = FileManager.default
            for name in ["printplane.sqlite", "ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "driver-signing.key", "admin.key"] {
                #expect(fm.fileExists(atPath: server.dataDirectory + "/" + name), "\(name) missing")
            }
            for name in ["admin.key", "ca-key.pem", "server-key.pem", "driver-signing.key"] {
                let mode = try fm.attributesOfItem(atPath: server.dataDirectory + "/" + name)[.posixPermissions] as? NSNumber
                #expect(mode?.intValue == 0o600, "\(name) has mode \(String(mode?.intValue ?? 0, radix: 8))")
            }
            #expect(SecretToken(parsing: server.adminKey)?.kind == .admin)
            #expect(try await server.request(.GET, "/healthz").status == 200)

            // A client limited to TLS 1.1 cannot connect.
            let old = try makeClient(caPEM: server.caPEM, maximumTLSVersion: .tlsv11)
            await #expect(throws: (any Error).self) {
                _ = try await old.execute(HTTPClientRequest(url: server.baseURL + "/healthz"), timeout: .seconds(3))
            }
            try await old.shutdown()
        }
    }

    @Test("a restart reuses the identity: same CA and admin key")
    func restartReuses() async throws {
        let directory = temporaryDirectory()
        let first = try await withTestServer(dataDirectory: directory) { ($0.caPEM, $0.adminKey) }
        let second = try await withTestServer(dataDirectory: directory) { ($0.caPEM, $0.adminKey) }
        #expect(first.0 == second.0)
        #expect(first.1 == second.1)
    }

    @Test("token expiry is enforced to the second, with reason token_expired")
    func expiryToTheSecond() async throws {
        let clock = ManualClock()
        try await withTestServer(configure: { $0.clock = { clock.now } }) { server in
            let (token, _) = try await server.createToken(expiresIn: "30m")
            clock.advance(1799)
            #expect(try await server.enroll(token: token).status == 201)
            clock.advance(1)
            let refused = try await server.enroll(token: token)
            #expect(refused.status == 401)
            #expect(refused.reason == "token_expired")
        }
    }

    @Test("max uses, revocation and unknown tokens are refused with their reasons")
    func refusals() async throws {
        try await withTestServer { server in
            let (limited, _) = try await server.createToken(maxUses: 2)
            #expect(try await server.enroll(token: limited).status == 201)
            #expect(try await server.enroll(token: limited).status == 201)
            let exhausted = try await server.enroll(token: limited)
            #expect(exhausted.status == 401 && exhausted.reason == "token_exhausted")

            let (revocable, id) = try await server.createToken()
            let revoke = try await server.admin(.POST, "/api/v1/admin/tokens/\(id)/revoke")
            #expect(revoke.status == 200)
            let revoked = try await server.enroll(token: revocable)
            #expect(revoked.status == 401 && revoked.reason == "token_revoked")

            let unknown = try await server.enroll(token: SecretToken.generate(.enrollment).value)
            #expect(unknown.status == 401 && unknown.reason == "token_unknown")
            let garbage = try await server.enroll(token: "let-me-in")
            #expect(garbage.status == 401 && garbage.reason == "token_unknown")

            let list = try await server.admin(.GET, "/api/v1/admin/tokens")
            let states = (try JSONSerialization.jsonObject(with: list.body) as? [String: Any])?["items"] as? [[String: Any]] ?? []
            #expect(Set(states.compactMap { $0["state"] as? String }) == ["exhausted", "revoked"])
            #expect(!list.text.contains(limited), "listing must never show a token")
        }
    }

    @Test("concurrent enrollments with a max-uses-1 token: exactly one wins")
    func singleUseRace() async throws {
        try await withTestServer { server in
            let (token, _) = try await server.createToken(maxUses: 1)
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for index in 0..<24 {
                    group.addTask {
                        let response = try await server.enroll(token: token, machineID: "machine-\(index)", hostname: "ws-\(index)")
                        return (response.status, response.reason)
                    }
                }
                return try await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == 201 }.count == 1)
            #expect(statuses.filter { $0.0 == 401 && $0.1 == "token_exhausted" }.count == 23)
            let agents = try await server.server.store.agents()
            #expect(agents.count == 1)
        }
    }

    @Test("a revoked device credential is refused on its next call; re-enrolling keeps the agent and issues a new credential")
    func revokedCredential() async throws {
        try await withTestServer { server in
            let agent = try await server.enrolledAgent(machineID: "machine-A")
            #expect(try await server.request(.GET, "/api/v1/agent/ping", bearer: agent.deviceCredential).status == 200)
            #expect(try await server.admin(.POST, "/api/v1/admin/agents/\(agent.agentID)/revoke").status == 204)
            let refused = try await server.request(.GET, "/api/v1/agent/ping", bearer: agent.deviceCredential)
            #expect(refused.status == 401 && refused.reason == "credential_revoked")
            let checkIn = try await server.checkIn(agent.deviceCredential)
            #expect(checkIn.status == 401 && checkIn.reason == "credential_revoked")

            let again = try await server.enrolledAgent(machineID: "machine-A")
            #expect(again.agentID == agent.agentID)
            #expect(again.deviceCredential != agent.deviceCredential)
            #expect(try await server.request(.GET, "/api/v1/agent/ping", bearer: again.deviceCredential).status == 200)
            #expect(try await server.request(.GET, "/api/v1/agent/ping", bearer: agent.deviceCredential).status == 401)
            #expect(try await server.server.store.agents().count == 1)

            let unknown = try await server.request(.GET, "/api/v1/agent/ping", bearer: SecretToken.generate(.device).value)
            #expect(unknown.status == 401 && unknown.reason == "credential_unknown")
        }
    }

    @Test("the enrollment answer carries the driver key, interval and a jittered first check-in")
    func enrollAnswer() async throws {
        try await withTestServer { server in
            let agent = try await server.enrolledAgent()
            #expect(agent.driverSigningPublicKey == server.server.identity.driverSigningKey.publicKey.base64)
            #expect(agent.checkinIntervalSeconds == 100)
            #expect((80...120).contains(agent.nextCheckinSeconds))
            #expect(SecretToken(parsing: agent.deviceCredential)?.kind == .device)
        }
    }

    @Test("the token CLI's client creates, lists and revokes over TLS with the admin key")
    func adminClient() async throws {
        try await withTestServer { server in
            let configuration = try AdminClient.Configuration(
                serverURL: server.baseURL, adminKeyFile: server.dataDirectory + "/admin.key", caFile: server.dataDirectory + "/ca.pem")
            try await AdminClient.with(configuration) { client in
                let created = try await client.createToken(expiresIn: "6h", maxUses: 3, label: "Site A")
                #expect(SecretToken(parsing: created.token ?? "")?.kind == .enrollment)
                #expect(created.state == "active" && created.maxUses == 3 && created.label == "Site A")
                let listed = try await client.listTokens()
                #expect(listed.map(\.id) == [created.id] && listed[0].token == nil)
                let revoked = try await client.revokeToken(id: created.id)
                #expect(revoked.state == "revoked")
                await #expect(throws: AdminClient.Failure.self) { _ = try await client.createToken(expiresIn: "5y", maxUses: nil, label: nil) }
            }
            var wrong = try AdminClient.Configuration(serverURL: server.baseURL, adminKeyFile: server.dataDirectory + "/admin.key", caFile: server.dataDirectory + "/ca.pem")
            wrong.adminKey = SecretToken.generate(.admin).value
            do {
                _ = try await AdminClient.with(wrong) { try await $0.listTokens() }
                Issue.record("a wrong admin key was accepted")
            } catch let failure as AdminClient.Failure {
                #expect(failure.status == 401 && failure.reason == "admin_key_invalid")
            }
        }
    }
}
