import Crypto
import Foundation
import PrintplaneCore
import SwiftASN1
import Testing
import X509

@testable import PrintplaneServer

/// The control plane's half of the LAN driver cache: the admin API that registers caches,
/// the plans that put a matching cache before the cloud, and the routes a cache calls with
/// its own device credential (signed manifests, its certificate).
@Suite("LAN driver caches on the server")
struct DriverCacheServerTests {
    /// A PEM CSR for `names` (DNS names or IPs), signed by `key` unless `forge` swaps in another key's signature.
    static func csr(names: [String], key: P256.Signing.PrivateKey = .init(), forge: Bool = false) throws -> String {
        var general = [GeneralName]()
        for name in names {
            if let address = IPAddress(name) {
                general.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address.bytes))))
            } else {
                general.append(.dnsName(name))
            }
        }
        let subject = try DistinguishedName { CommonName(names.first ?? "cache") }
        let attributes: CertificateSigningRequest.Attributes = general.isEmpty
            ? CertificateSigningRequest.Attributes()
            : CertificateSigningRequest.Attributes([try .init(ExtensionRequest(extensions: try Certificate.Extensions { SubjectAlternativeNames(general) }))])
        let request = try CertificateSigningRequest(version: .v1, subject: subject, privateKey: Certificate.PrivateKey(key), attributes: attributes)
        guard forge else { return try request.serializeAsPEM().pemString }
        let other = try CertificateSigningRequest(version: .v1, subject: subject, privateKey: Certificate.PrivateKey(P256.Signing.PrivateKey()), attributes: attributes)
        let forged = try CertificateSigningRequest(
            version: .v1, subject: subject, publicKey: Certificate.PublicKey(key.publicKey), attributes: attributes,
            signatureAlgorithm: other.signatureAlgorithm, signature: other.signature)
        return try forged.serializeAsPEM().pemString
    }

    static func sources(_ response: TestResponse) throws -> [String]? {
        let answer = try response.decode(CheckInResponse.self)
        guard answer.status == .plan else { return nil }
        return answer.plan?.printers.first?.driver?.sources
    }

    static func register(_ server: TestServer, name: String, url: String, agent: AgentID, ranges: [String] = [], sites: [String] = []) async throws -> TestResponse {
        try await server.admin(.POST, "/api/v1/admin/caches", json: ["name": name, "url": url, "agent_id": agent.rawValue, "ranges": ranges, "sites": sites])
    }

    @Test("registering, changing, revoking and deleting a cache changes driver sources by IP range and by site, each audited and past the unchanged path")
    func plansFollowRegistrations() async throws {
        try await withTestServer { server in
            let driver = try await DriverTests.upload(server, DriverTests.randomBytes(10_000))
            let sha = driver.manifest.manifest.sha256
            let printer = try await server.admin(.POST, "/api/v1/admin/printers", json: ["name": "hq-1", "address": "10.1.9.9", "protocol": "raw", "site": "HQ", "driver_id": driver.id.rawValue])
            #expect(printer.status == 201, "\(printer.text)")
            let printerID = try printer.decode(PrinterRecord.self).id
            #expect(try await server.admin(.POST, "/api/v1/admin/assignments", json: ["printer_id": printerID.rawValue, "target": ["kind": "everyone"]]).status == 201)
            let cacheDevice = try await server.enrolledAgent(hostname: "cache-hq")
            let inRange = try await server.enrolledAgent(hostname: "ws-in")
            let outside = try await server.enrolledAgent(hostname: "ws-out")
            let cloud = "/api/v1/drivers/\(sha)"
            let viaCache = "https://cache-hq.corp.example.com:8444/drivers/\(sha)"

            let first = try await server.checkIn(inRange.deviceCredential, ips: ["10.1.0.7"])
            #expect(try Self.sources(first) == [cloud])
            let etag = try first.decode(CheckInResponse.self).etag
            #expect(try await server.checkIn(inRange.deviceCredential, ips: ["10.1.0.7"], etag: etag).decode(CheckInResponse.self).status == .unchanged)

            // Bad registrations are refused with the reason and change nothing.
            for (body, reason) in [
                (["name": "hq", "url": "http://cache-hq:8444", "agent_id": cacheDevice.agentID.rawValue, "ranges": ["10.1.0.0/16"]] as [String: Any], "invalid_field"),
                (["name": "hq", "url": "https://cache-hq:8444/drivers", "agent_id": cacheDevice.agentID.rawValue, "ranges": ["10.1.0.0/16"]], "invalid_field"),
                (["name": "hq", "url": "https://cache-hq:8444", "agent_id": cacheDevice.agentID.rawValue], "invalid_field"),
                (["name": "hq", "url": "https://cache-hq:8444", "agent_id": cacheDevice.agentID.rawValue, "ranges": ["10.1.0.0/99"]], "invalid_field"),
                (["name": "hq", "url": "https://cache-hq:8444", "agent_id": "no-such-agent", "ranges": ["10.1.0.0/16"]], "invalid_field"),
                (["name": "hq/../x", "url": "https://cache-hq:8444", "agent_id": cacheDevice.agentID.rawValue, "ranges": ["10.1.0.0/16"]], "invalid_field"),
            ] {
                let refused = try await server.admin(.POST, "/api/v1/admin/caches", json: body)
                #expect(refused.status == 400 && refused.reason == reason, "\(body): \(refused.text)")
            }
            #expect(try await server.checkIn(inRange.deviceCredential, ips: ["10.1.0.7"], etag: etag).decode(CheckInResponse.self).status == .unchanged)

            let created = try await Self.register(server, name: "hq", url: "https://Cache-HQ.corp.example.com:8444/", agent: cacheDevice.agentID, ranges: ["10.1.0.0/16"])
            #expect(created.status == 201, "\(created.text)")
            let cache = try created.decode(DriverCacheRecord.self)
            #expect(cache.url == "https://cache-hq.corp.example.com:8444")
            let duplicate = try await Self.register(server, name: "hq", url: "https://other:8444", agent: outside.agentID, ranges: ["10.3.0.0/16"])
            #expect(duplicate.status == 409)

            // The in-range agent's unchanged ETag no longer holds: the cache comes first.
            let withCache = try await server.checkIn(inRange.deviceCredential, ips: ["10.1.0.7"], etag: etag)
            #expect(try Self.sources(withCache) == [viaCache, cloud])
            #expect(try Self.sources(try await server.checkIn(outside.deviceCredential, ips: ["10.2.0.7"])) == [cloud])

            // By site: the printer is at HQ, so every agent that gets it tries the cache.
            let bySite = try await server.admin(.PUT, "/api/v1/admin/caches/\(cache.id.rawValue)", json: [
                "name": "hq", "url": "https://cache-hq.corp.example.com:8444", "agent_id": cacheDevice.agentID.rawValue, "sites": ["hq"],
            ])
            #expect(bySite.status == 200, "\(bySite.text)")
            #expect(try Self.sources(try await server.checkIn(outside.deviceCredential, ips: ["10.2.0.7"])) == [viaCache, cloud])
            #expect(try await server.admin(.PUT, "/api/v1/admin/caches/missing", json: [
                "name": "x", "url": "https://x:1", "agent_id": cacheDevice.agentID.rawValue, "sites": ["hq"],
            ]).status == 404)

            // Revoking the cache's credential takes it out of plans.
            let beforeRevoke = try await server.checkIn(outside.deviceCredential, ips: ["10.2.0.7"]).decode(CheckInResponse.self).etag
            #expect(try await server.admin(.POST, "/api/v1/admin/agents/\(cacheDevice.agentID.rawValue)/revoke").status == 204)
            #expect(try Self.sources(try await server.checkIn(outside.deviceCredential, ips: ["10.2.0.7"], etag: beforeRevoke)) == [cloud])

            let list = try await server.admin(.GET, "/api/v1/admin/caches")
            #expect(list.text.contains("\"name\":\"hq\""))
            #expect(try await server.admin(.DELETE, "/api/v1/admin/caches/\(cache.id.rawValue)").status == 204)
            #expect(try await server.admin(.DELETE, "/api/v1/admin/caches/\(cache.id.rawValue)").status == 404)
            let audit = try await server.admin(.GET, "/api/v1/admin/audit?limit=100").text
            for action in ["cache.create", "cache.update", "cache.delete"] { #expect(audit.contains(action), "audit lacks \(action)") }
            #expect(try await server.request(.GET, "/api/v1/admin/caches").status == 401)
        }
    }

    @Test("cache routes: only a registered cache's credential; it gets every signed manifest; its CSR is signed only for its registered host, never for the server's names")
    func cacheRoutes() async throws {
        try await withTestServer { server in
            let driver = try await DriverTests.upload(server, DriverTests.randomBytes(5_000))
            let device = try await server.enrolledAgent(hostname: "cache-hq")
            let stranger = try await server.enrolledAgent(hostname: "ws-1")

            #expect(try await server.request(.GET, "/api/v1/cache/manifests").status == 401)
            let notACache = try await server.request(.GET, "/api/v1/cache/manifests", bearer: stranger.deviceCredential)
            #expect(notACache.status == 403 && notACache.reason == "not_a_cache")

            let registered = try await Self.register(server, name: "hq", url: "https://127.0.0.2:8444", agent: device.agentID, ranges: ["10.1.0.0/16"])
            #expect(registered.status == 201, "\(registered.text)")
            let cacheID = try registered.decode(DriverCacheRecord.self).id
            let list = try await server.request(.GET, "/api/v1/cache/manifests", bearer: device.deviceCredential)
            #expect(list.status == 200, "\(list.text)")
            let manifests = try list.decode(DriverCacheManifests.self)
            #expect(manifests.cache.url == "https://127.0.0.2:8444")
            #expect(manifests.manifests == [driver.manifest])
            let key = try #require(Curve25519.Signing.PublicKey(base64: device.driverSigningPublicKey))
            #expect(manifests.manifests.allSatisfy { $0.hasValidSignature(from: key) })

            // A CSR for the registered host: a leaf for exactly that, for the CSR's key, by the CA.
            let cacheKey = P256.Signing.PrivateKey()
            let issued = try await server.request(.POST, "/api/v1/cache/certificate", body: server.json(DriverCacheCertificateRequest(csr: try Self.csr(names: ["127.0.0.2"], key: cacheKey))), bearer: device.deviceCredential)
            #expect(issued.status == 201, "\(issued.text)")
            let answer = try issued.decode(DriverCacheCertificate.self)
            let leaf = try Certificate(pemEncoded: answer.certificate)
            let ca = try Certificate(pemEncoded: server.caPEM)
            #expect(leaf.issuer == ca.subject)
            #expect(ca.publicKey.isValidSignature(leaf.signature, for: leaf))
            #expect(leaf.publicKey == Certificate.PublicKey(cacheKey.publicKey))
            #expect(try leaf.extensions.subjectAlternativeNames == SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 2]))]))
            #expect(try leaf.extensions.basicConstraints == .notCertificateAuthority)
            #expect(try leaf.extensions.extendedKeyUsage == ExtendedKeyUsage([.serverAuth]))
            let days = leaf.notValidAfter.timeIntervalSince(Date()) / 86_400
            #expect(days > 29 && days <= 30.01)
            #expect(answer.notAfter == leaf.notValidAfter)
            let audit = try await server.admin(.GET, "/api/v1/admin/audit?limit=10").text
            #expect(audit.contains("cache.certificate.issue"))
            let record = try await server.admin(.GET, "/api/v1/admin/caches").decode(AdminListBody<DriverCacheRecord>.self).items.first
            #expect(record?.certificateSerial == leaf.serialNumber.description)

            // No names: the registered host. Other names, forged signatures and garbage: refused.
            let bare = try await server.request(.POST, "/api/v1/cache/certificate", body: server.json(DriverCacheCertificateRequest(csr: try Self.csr(names: []))), bearer: device.deviceCredential)
            #expect(bare.status == 201)
            #expect(try Certificate(pemEncoded: try bare.decode(DriverCacheCertificate.self).certificate).extensions.subjectAlternativeNames
                == SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 2]))]))
            for (names, forge, status, reason) in [
                (["127.0.0.2", "evil.example.com"], false, 403, "certificate_name_refused"),
                (["127.0.0.3"], false, 403, "certificate_name_refused"),
                (["127.0.0.2"], true, 400, "invalid_csr"),
            ] {
                let refused = try await server.request(.POST, "/api/v1/cache/certificate", body: server.json(DriverCacheCertificateRequest(csr: try Self.csr(names: names, forge: forge))), bearer: device.deviceCredential)
                #expect(refused.status == status && refused.reason == reason, "\(names): \(refused.text)")
            }
            let garbage = try await server.request(.POST, "/api/v1/cache/certificate", body: server.json(DriverCacheCertificateRequest(csr: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")), bearer: device.deviceCredential)
            #expect(garbage.status == 400 && garbage.reason == "invalid_csr")
            let strangerAsks = try await server.request(.POST, "/api/v1/cache/certificate", body: server.json(DriverCacheCertificateRequest(csr: try Self.csr(names: ["127.0.0.2"]))), bearer: stranger.deviceCredential)
            #expect(strangerAsks.status == 403 && strangerAsks.reason == "not_a_cache")

            // Registered under one of the server's own names: never certified (it could pose as the server).
            #expect(try await server.admin(.PUT, "/api/v1/admin/caches/\(cacheID.rawValue)", json: [
                "name": "hq", "url": "https://127.0.0.1:8444", "agent_id": device.agentID.rawValue, "ranges": ["10.1.0.0/16"],
            ]).status == 200)
            for name in ["127.0.0.1"] {
                let clash = try await server.request(.POST, "/api/v1/cache/certificate", body: server.json(DriverCacheCertificateRequest(csr: try Self.csr(names: [name]))), bearer: device.deviceCredential)
                #expect(clash.status == 403 && clash.reason == "certificate_name_refused", "\(clash.text)")
            }
            #expect(try await server.admin(.PUT, "/api/v1/admin/caches/\(cacheID.rawValue)", json: [
                "name": "hq", "url": "https://localhost:8444", "agent_id": device.agentID.rawValue, "ranges": ["10.1.0.0/16"],
            ]).status == 200)
            let localhost = try await server.request(.POST, "/api/v1/cache/certificate", body: server.json(DriverCacheCertificateRequest(csr: try Self.csr(names: ["localhost"]))), bearer: device.deviceCredential)
            #expect(localhost.status == 403 && localhost.reason == "certificate_name_refused", "\(localhost.text)")

            // Revoked: like any device.
            #expect(try await server.admin(.POST, "/api/v1/admin/agents/\(device.agentID.rawValue)/revoke").status == 204)
            let revoked = try await server.request(.GET, "/api/v1/cache/manifests", bearer: device.deviceCredential)
            #expect(revoked.status == 401 && revoked.reason == "credential_revoked")
            let revokedCSR = try await server.request(.POST, "/api/v1/cache/certificate", body: server.json(DriverCacheCertificateRequest(csr: try Self.csr(names: ["localhost"]))), bearer: device.deviceCredential)
            #expect(revokedCSR.status == 401)
        }
    }

    @Test("a server with a given certificate holds no CA key: a cache's CSR gets 409 ca_unavailable")
    func givenCertificateHasNoCA() async throws {
        let directory = temporaryDirectory()
        let ca = try CertificateAuthority.generate(commonName: "Corporate CA")
        let leaf = try ca.issueServerCertificate(dnsNames: ["localhost"], ipAddresses: [IPAddress("127.0.0.1")!])
        try leaf.certificatePEM.write(toFile: directory + "/given.pem", atomically: true, encoding: .utf8)
        try leaf.privateKeyPEM.write(toFile: directory + "/given-key.pem", atomically: true, encoding: .utf8)
        try await withTestServer(dataDirectory: directory + "/data", trustPEM: try ca.certificatePEM, configure: {
            $0.tlsCertificatePath = directory + "/given.pem"
            $0.tlsKeyPath = directory + "/given-key.pem"
        }) { server in
            let device = try await server.enrolledAgent(hostname: "cache-hq")
            #expect(try await Self.register(server, name: "hq", url: "https://cache-hq.example.com:8444", agent: device.agentID, sites: ["HQ"]).status == 201)
            let refused = try await server.request(.POST, "/api/v1/cache/certificate", body: server.json(DriverCacheCertificateRequest(csr: try Self.csr(names: ["cache-hq.example.com"]))), bearer: device.deviceCredential)
            #expect(refused.status == 409 && refused.reason == "ca_unavailable", "\(refused.text)")
        }
    }
}

/// `{"items": [...]}` as the admin API lists things.
struct AdminListBody<Item: Decodable>: Decodable {
    var items: [Item]
}
