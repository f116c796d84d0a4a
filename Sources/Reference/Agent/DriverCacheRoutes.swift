import Foundation
import HTTPTypes
import Hummingbird
import PrintplaneCore
import PrintplaneHTTP

/// What the cache serves on the LAN (docs/driver-cache.md, `openapi/driver-cache.yaml`):
///
/// - `GET`/`HEAD /drivers/{sha256}`: a verified package, exactly as the cloud serves it
///   (`Range`, `ETag`/`If-None-Match`, bounded downloads), through the same
///   ``DriverDownloadResponder``. No credential: packages are public by digest, and every
///   agent verifies what it gets anyway. A package not here yet is fetched once from the
///   cloud, verified, then served;
/// - `GET /healthz`: the cache's state as JSON;
/// - `GET /metrics`: its counters in Prometheus text format.
///
/// Answers that send an agent to its next source at once: 404 `unknown_driver` (the cloud
/// does not list the digest), 502 (`upstream_failed`, `cloud_unreachable`,
/// `credential_refused`); 503 with `Retry-After` means wait (`downloads_busy`, `fetching`).
struct DriverCacheRoutes: Sendable {
    let service: DriverCacheService

    /// Every (method, path), for the OpenAPI drift test of `openapi/driver-cache.yaml`.
    static let routes: [(method: String, path: String)] = [
        ("GET", "/drivers/{sha256}"), ("HEAD", "/drivers/{sha256}"), ("GET", "/healthz"), ("GET", "/metrics"),
    ]

    func router() -> Router<DriverCacheRequestContext> {
        let router = Router(context: DriverCacheRequestContext.self)
        let service = self.service
        router.get("/drivers/{sha256}") { request, context in await service.download(request, context) }
        router.head("/drivers/{sha256}") { request, context in await service.download(request, context) }
        router.get("/healthz") { _, _ in service.health() }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: service.renderMetrics())))
        }
        return router
    }
}
