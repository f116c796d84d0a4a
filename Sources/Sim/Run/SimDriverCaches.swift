import Foundation
import Logging
import PrintplaneAgent
import PrintplaneCore
import PrintplaneServer
import ServiceLifecycle

/// The LAN driver caches of a `drivers.cache: per_site` run (docs/driver-cache.md): one real
/// ``DriverCacheService`` per site, set up the way an admin would: enrolled with a token of its
/// own, registered for the site's address range (`10.(100 + site).0.0/16`, where the site's
/// agents report their addresses) and its printers' site, given a certificate by the control
/// plane's CA, listening on its own LAN address. In topology mode that address is inside the
/// lan namespace, so a package crosses the captured WAN link once per site.
final class SimDriverCaches: Sendable {
    let services: [DriverCacheService]
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(services: [DriverCacheService], group: ServiceGroup, task: Task<Void, any Error>) {
        self.services = services
        self.group = group
        self.task = task
    }

    /// The address the cache of `site` listens on: `127.40.<subnet>.<site + 1>`.
    static func host(subnet: Int, site: Int) -> String { "127.40.\(subnet).\(site + 1)" }

    static let port = 8444

    /// Enrolls, registers and starts one cache per site and waits until each listens.
    static func start(
        sites: Int, subnet: Int, runTag: String, controlPlane: SimControlPlane, http: any AgentHTTPTransport, directory: String, logger: Logger
    ) async throws -> SimDriverCaches {
        let serverURL = await controlPlane.url
        let caPEM = try await controlPlane.caPEM
        let token = try await controlPlane.admin { admin in
            try await admin.createToken(expiresIn: "1h", maxUses: sites, label: "sim \(runTag) driver caches")
        }
        guard let secret = token.token else { throw SimRunError("the server did not return the driver caches' enrollment token") }
        var services = [DriverCacheService]()
        for site in 0..<sites {
            var configuration = DriverCacheConfiguration(stateDirectory: "\(directory)/site-\(site)")
            configuration.host = Self.host(subnet: subnet, site: site)
            configuration.port = Self.port
            let identity: AgentIdentity
            do {
                identity = try await DriverCacheEnrollment.enroll(
                    configuration: configuration, serverURL: serverURL, caPEM: caPEM, token: secret,
                    machine: DriverCacheEnrollment.machine(hostname: "sim-cache-site-\(site)", machineID: "\(runTag)-site-\(site)"), logger: logger)
            } catch {
                throw SimRunError("the driver cache of site-\(site) could not enroll: \(error)")
            }
            _ = try await controlPlane.admin { admin in
                try await admin.registerDriverCache(AdminClient.DriverCacheInput(
                    name: "sim-\(runTag)-site-\(site)", url: "https://\(configuration.host):\(configuration.port)", agentID: identity.agentID,
                    ranges: ["10.\(100 + site).0.0/16"], sites: ["site-\(site)"]))
            }
            services.append(try DriverCacheService(configuration: configuration, identity: identity, http: http, logger: logger))
        }
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let task = Task { try await group.run() }
        let caches = SimDriverCaches(services: services, group: group, task: task)
        do {
            for (site, service) in services.enumerated() {
                do {
                    _ = try await service.waitUntilListening(timeout: .seconds(60))
                } catch {
                    throw SimRunError("the driver cache of site-\(site) did not start listening on \(service.configuration.host):\(Self.port): \(error)")
                }
            }
        } catch {
            await caches.stop()
            throw error
        }
        return caches
    }

    /// The counters of every cache, added up.
    var totals: DriverCacheMetrics.Snapshot {
        self.services.map(\.metrics.snapshot).reduce(into: DriverCacheMetrics.Snapshot()) { sum, one in
            sum.hits += one.hits
            sum.misses += one.misses
            sum.upstreamFetches += one.upstreamFetches
            sum.upstreamBytes += one.upstreamBytes
            sum.upstreamFailures += one.upstreamFailures
            sum.verificationFailures += one.verificationFailures
            sum.bytesServed += one.bytesServed
            sum.refusedBusy += one.refusedBusy
            sum.unknownDigests += one.unknownDigests
        }
    }

    /// Records the totals as `cache.*` metrics.
    func record(into recorder: MetricsRecorder) {
        let totals = self.totals
        recorder.set("cache.hits", Double(totals.hits))
        recorder.set("cache.misses", Double(totals.misses))
        recorder.set("cache.upstream_fetches", Double(totals.upstreamFetches))
        recorder.set("cache.upstream_bytes", Double(totals.upstreamBytes))
        recorder.set("cache.upstream_failures", Double(totals.upstreamFailures))
        recorder.set("cache.verification_failures", Double(totals.verificationFailures))
        recorder.set("cache.bytes_served", Double(totals.bytesServed))
        recorder.set("cache.refused_busy", Double(totals.refusedBusy))
    }

    /// Shuts every cache down gracefully and waits for it (before the shared pool goes).
    func stop() async {
        await self.group.triggerGracefulShutdown()
        _ = try? await self.task.value
    }
}
