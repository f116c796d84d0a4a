import Crypto
import Foundation
import Logging
import NIOCore
import PrintplaneCore

/// What the cache asks of the cloud. The cloud is the only authority: the cache serves
/// nothing it did not list with a valid signature, and nothing it did not fetch and verify.
protocol DriverCacheUpstream: Sendable {
    /// `GET /api/v1/cache/manifests`: the registration and every current signed manifest.
    func manifests() async throws -> DriverCacheManifests
    /// Fetches a package into the cache's store and verifies digest, size and signature
    /// (``DriverFetcher``); throws, leaving nothing behind, when any check fails.
    func fetch(_ manifest: SignedDriverManifest) async throws -> StoredDriver
    /// `POST /api/v1/cache/certificate` with a PEM CSR.
    func certificate(csrPEM: String) async throws -> DriverCacheCertificate
}

/// The cloud over the agent's own HTTPS transport (trusting only the server's CA), with the
/// cache's device credential, fetching through the agent's ``DriverFetcher``.
struct CloudDriverCacheUpstream: DriverCacheUpstream {
    let http: any AgentHTTPTransport
    let identity: AgentIdentity
    let publicKey: Curve25519.Signing.PublicKey
    let store: FileDriverStore
    let observer: any AgentObserver
    let logger: Logger
    /// Attempts per fetch (``DriverFetcher/attemptsPerSource``).
    var attempts = 4

    func manifests() async throws -> DriverCacheManifests {
        let (head, body) = try await self.call(.get, "/api/v1/cache/manifests", body: nil)
        guard head.status == 200 else { throw Self.failure(head, body) }
        do {
            return try WireCoding.makeDecoder().decode(DriverCacheManifests.self, from: Data(body.readableBytesView))
        } catch {
            throw DriverCacheError.cloud("the manifest list is not valid JSON: \(error)")
        }
    }

    func fetch(_ manifest: SignedDriverManifest) async throws -> StoredDriver {
        var fetcher = DriverFetcher(
            http: self.http, store: self.store, clock: SystemAgentClock(), observer: self.observer, logger: self.logger,
            identity: self.identity, publicKey: self.publicKey)
        fetcher.attemptsPerSource = max(1, self.attempts)
        let sha256 = manifest.manifest.sha256
        let (stored, _) = try await fetcher.ensure(PlannedDriver(id: DriverID(sha256), manifest: manifest, sources: ["/api/v1/drivers/\(sha256)"]))
        return stored
    }

    func certificate(csrPEM: String) async throws -> DriverCacheCertificate {
        let body = try WireCoding.makeEncoder().encode(DriverCacheCertificateRequest(csr: csrPEM))
        let (head, answer) = try await self.call(.post, "/api/v1/cache/certificate", body: ByteBuffer(bytes: body))
        guard head.status == 201 || head.status == 200 else {
            let error = Self.failure(head, answer)
            if error.isRefusal || head.status >= 500 { throw error }
            throw DriverCacheError.certificate(Agent.errorBody(answer).map { "\($0.reason): \($0.message)" } ?? "HTTP \(head.status)")
        }
        do {
            return try WireCoding.makeDecoder().decode(DriverCacheCertificate.self, from: Data(answer.readableBytesView))
        } catch {
            throw DriverCacheError.certificate("the answer is not a certificate: \(error)")
        }
    }

    private func call(_ method: AgentHTTPRequest.Method, _ path: String, body: ByteBuffer?) async throws -> (AgentHTTPHead, ByteBuffer) {
        var headers = [("Accept", "application/json"), ("Authorization", "Bearer \(self.identity.deviceCredential)")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        do {
            return try await self.http.send(AgentHTTPRequest(method: method, url: self.identity.serverURL + path, headers: headers, body: body), limit: 32 * 1024 * 1024)
        } catch {
            throw DriverCacheError.cloud("\(self.identity.serverURL): \(error)")
        }
    }

    /// A refused credential or registration is a refusal; anything else the cloud not answering as it should.
    static func failure(_ head: AgentHTTPHead, _ body: ByteBuffer) -> DriverCacheError {
        let error = Agent.errorBody(body)
        switch head.status {
        case 401: return .credentialRefused(reason: error?.reason ?? "http_401", message: error?.message ?? "credential refused")
        case 403 where error?.reason == "not_a_cache": return .notRegistered(error?.message ?? "not registered")
        default: return .cloud("HTTP \(head.status) \(error?.reason ?? ""): \(error?.message ?? "")")
        }
    }
}
