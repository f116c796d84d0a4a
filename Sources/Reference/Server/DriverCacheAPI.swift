import Foundation
import Hummingbird
import Logging
import PrintplaneCore
import X509

/// The routes a registered LAN driver cache calls with its device credential (docs/driver-cache.md):
///
/// - `GET /api/v1/cache/manifests`: its registration and the signed manifest of every driver
///   the cloud serves, so the cloud stays the authority on what a cache may serve;
/// - `POST /api/v1/cache/certificate`: a certificate for its key, signed by the server's CA
///   (``DriverCacheCertificateIssuer``), audited.
///
/// Packages themselves come from `GET /api/v1/drivers/{sha256}` like any device's.
struct DriverCacheAPI: Sendable {
    let configuration: ServerConfiguration
    let identity: ServerIdentity
    let store: any Store

    func register(on table: RouteTable) {
        table.add(.get, "/api/v1/cache/manifests") { request, context in try await self.manifests(request, context) }
        table.add(.post, "/api/v1/cache/certificate") { request, context in try await self.certificate(request, context) }
    }

    /// The registered cache behind the credential: 401 for a bad or revoked credential, 403
    /// `not_a_cache` for a device no admin registered.
    func authenticate(_ request: Request) async throws -> (AgentAuthentication, DriverCacheRecord) {
        let device = try await DeviceAuthentication.authenticate(request, store: self.store)
        guard let cache = try await self.store.driverCache(agentID: device.agentID) else { throw ServerError.notACache }
        return (device, cache)
    }

    func manifests(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let (_, cache) = try await self.authenticate(request)
        var seen = Set<String>()
        let manifests = try await self.store.drivers().map(\.manifest).filter { seen.insert($0.manifest.sha256).inserted }
        return try HTTPBody.response(DriverCacheManifests(cache: cache.route, manifests: manifests))
    }

    func certificate(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let (device, cache) = try await self.authenticate(request)
        let body = try await HTTPBody.decode(DriverCacheCertificateRequest.self, from: request, limit: self.configuration.maxJSONBodyBytes)
        let now = self.configuration.clock()
        let issuer = DriverCacheCertificateIssuer(identity: self.identity, days: self.configuration.driverCacheCertificateDays)
        let certificate: Certificate
        do {
            certificate = try issuer.issue(csrPEM: body.csr, for: cache, now: now)
        } catch let error as ServerError {
            context.logger.warning("cache certificate refused", metadata: ["printplane.cache": "\(cache.name)", "printplane.error": "\(error)"])
            throw error
        }
        let serial = certificate.serialNumber.description
        let names = (try? certificate.extensions.subjectAlternativeNames).map { "\($0)" } ?? ""
        let peer = context.remoteAddress?.ipAddress ?? "-"
        _ = try await self.store.recordDriverCacheCertificate(
            id: cache.id, serial: serial, notAfter: certificate.notValidAfter,
            audit: AuditEntry(
                at: now, actor: "cache(\(cache.name), agent \(device.agentID))@\(peer)", action: "cache.certificate.issue", target: cache.id.rawValue,
                detail: "serial=\(serial) names=\(names) not_after=\(ISO8601DateFormatter().string(from: certificate.notValidAfter))"))
        context.logger.notice("cache certificate issued", metadata: ["printplane.cache": "\(cache.name)", "printplane.tls.serial": "\(serial)"])
        return try HTTPBody.response(DriverCacheCertificate(certificate: try certificate.serializeAsPEM().pemString, notAfter: certificate.notValidAfter), status: .created)
    }
}
