import AsyncHTTPClient
import Foundation
import PrintplaneCore
import Testing

@testable import PrintplaneServer

@Suite("SQLite store (in memory)")
struct SQLiteStoreTests {
    let audit = AuditEntry(at: Date(timeIntervalSince1970: 1_800_000_000), actor: "test", action: "test.action", target: "t")
    let request = EnrollRequest(token: "unused", hostname: "ws-1", machineID: "m-1", os: "linux", agentVersion: "1")

    @Test("a token is judged revoked before expired before exhausted, and each use is counted in the enrollment transaction")
    func tokenRules() async throws {
        let store = try SQLiteStore.inMemory()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let token = EnrollmentTokenRecord(id: "t1", tokenHash: "h1", label: nil, createdAt: now, expiresAt: now.addingTimeInterval(60), maxUses: 1)
        try await store.createEnrollmentToken(token, audit: audit)
        #expect(try await store.enroll(tokenHash: "nope", request: request, credentialHash: "c0", at: now) == .failure(.tokenUnknown))
        guard case .success(let agent) = try await store.enroll(tokenHash: "h1", request: request, credentialHash: "c1", at: now) else {
            Issue.record("first use refused")
            return
        }
        #expect(try await store.enroll(tokenHash: "h1", request: request, credentialHash: "c2", at: now) == .failure(.tokenExhausted))
        #expect(try await store.enroll(tokenHash: "h1", request: request, credentialHash: "c2", at: now.addingTimeInterval(60)) == .failure(.tokenExpired))
        #expect(try await store.revokeEnrollmentToken(id: "t1", at: now, audit: audit))
        #expect(try await store.enroll(tokenHash: "h1", request: request, credentialHash: "c2", at: now.addingTimeInterval(60)) == .failure(.tokenRevoked))
        #expect(try await store.enrollmentTokens().first?.uses == 1)
        #expect(try await store.authenticateAgent(credentialHash: "c1")?.agentID == agent.id)
        #expect(try await store.authenticateAgent(credentialHash: "c2") == nil)
        #expect(try await !store.revokeEnrollmentToken(id: "missing", at: now, audit: audit))
    }

    @Test("configuration changes bump the generation and are audited in the same transaction; failed ones leave no trace")
    func generationAndAudit() async throws {
        let store = try SQLiteStore.inMemory()
        let before = try await store.planningSnapshot().generation
        let printer = PrinterRecord(id: "p1", name: "hq-1", address: "10.0.0.1", protocol: .raw, port: 9100, queue: nil, location: nil, site: nil, driverID: nil)
        try await store.createPrinter(printer, audit: audit)
        #expect(try await store.planningSnapshot().generation == before + 1)
        await #expect(throws: ServerError.self) { try await store.createPrinter(printer, audit: audit) }
        let bad = Assignment(id: "a1", printerID: "missing", profileID: nil, target: .everyone)
        await #expect(throws: ServerError.self) { try await store.createAssignment(bad, audit: audit) }
        #expect(try await store.planningSnapshot().generation == before + 1)
        #expect(try await store.auditEntries(limit: 10, offset: 0).count == 1)

        try await store.createProfile(ProfileRecord(id: "pr1", name: "duplex", profile: .init(duplex: .longEdge)), audit: audit)
        try await store.createAssignment(Assignment(id: "a2", printerID: "p1", profileID: "pr1", target: .user("alice")), audit: audit)
        await #expect(throws: ServerError.self) { _ = try await store.deleteProfile(id: "pr1", audit: audit) }
        #expect(try await store.deletePrinter(id: "p1", audit: audit))
        #expect(try await store.assignments().isEmpty, "assignments go with their printer")
        #expect(try await store.deleteProfile(id: "pr1", audit: audit))
    }

    @Test("recording jobs is idempotent by job ID")
    func idempotentJobs() async throws {
        let store = try SQLiteStore.inMemory()
        let jobs = (0..<10).map { makeJob("j\($0)") }
        let first = try await store.recordJobs(jobs, agentID: "a", receivedAt: Date())
        let second = try await store.recordJobs(jobs + [makeJob("j10")], agentID: "a", receivedAt: Date())
        #expect(first.accepted.count == 10 && first.duplicates.isEmpty)
        #expect(second.accepted == ["j10"] && second.duplicates.count == 10)
        #expect(try await store.jobs(matching: JobFilter(), limit: 100, offset: 0).map(\.jobID) == (0...10).map { JobID("j\($0)") }.sorted())
    }
}

@Suite("Given TLS certificate")
struct GivenCertificateTests {
    @Test("--tls-cert and --tls-key serve a certificate from another CA; no CA is generated")
    func givenCertificate() async throws {
        let directory = temporaryDirectory()
        let ca = try CertificateAuthority.generate(commonName: "Corporate CA")
        let leaf = try ca.issueServerCertificate(dnsNames: ["localhost"], ipAddresses: [IPAddress("127.0.0.1")!])
        try leaf.certificatePEM.write(toFile: directory + "/given.pem", atomically: true, encoding: .utf8)
        try leaf.privateKeyPEM.write(toFile: directory + "/given-key.pem", atomically: true, encoding: .utf8)
        let corporateCA = try ca.certificatePEM
        try await withTestServer(dataDirectory: directory + "/data", trustPEM: corporateCA, configure: {
            $0.tlsCertificatePath = directory + "/given.pem"
            $0.tlsKeyPath = directory + "/given-key.pem"
        }) { server in
            #expect(!FileManager.default.fileExists(atPath: server.dataDirectory + "/ca.pem"))
            #expect(try await server.request(.GET, "/healthz").status == 200)
            // A client trusting only some other CA is refused.
            let stranger = try makeClient(caPEM: try CertificateAuthority.generate().certificatePEM)
            await #expect(throws: (any Error).self) {
                _ = try await stranger.execute(HTTPClientRequest(url: server.baseURL + "/healthz"), timeout: .seconds(3))
            }
            try await stranger.shutdown()
        }
    }
}
