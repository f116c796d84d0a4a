import Foundation
import NIOConcurrencyHelpers

/// What the cache counts, for `/metrics` (Prometheus text) and the simulator's report.
public final class DriverCacheMetrics: Sendable {
    /// A copy of the counters at one moment.
    public struct Snapshot: Sendable, Hashable, Codable {
        /// Requests answered from a package already on disk.
        public var hits: Int = 0
        /// Requests that had to wait for a package to come from the cloud.
        public var misses: Int = 0
        /// Packages fetched from the cloud (concurrent misses for one digest share one).
        public var upstreamFetches: Int = 0
        /// Bytes those fetches downloaded.
        public var upstreamBytes: Int64 = 0
        /// Fetches that failed (cloud unreachable, refused, or verification).
        public var upstreamFailures: Int = 0
        /// Fetched packages refused because digest, size or signature did not verify.
        public var verificationFailures: Int = 0
        /// Package bytes sent to agents.
        public var bytesServed: Int64 = 0
        /// Downloads refused with 503 because every slot was taken.
        public var refusedBusy: Int = 0
        /// Requests for digests the cloud does not list.
        public var unknownDigests: Int = 0

        public init() {}

        enum CodingKeys: String, CodingKey {
            case hits, misses
            case upstreamFetches = "upstream_fetches"
            case upstreamBytes = "upstream_bytes"
            case upstreamFailures = "upstream_failures"
            case verificationFailures = "verification_failures"
            case bytesServed = "bytes_served"
            case refusedBusy = "refused_busy"
            case unknownDigests = "unknown_digests"
        }
    }

    private let box = NIOLockedValueBox(Snapshot())

    public init() {}

    public var snapshot: Snapshot { self.box.withLockedValue { $0 } }

    func update(_ body: (inout Snapshot) -> Void) { self.box.withLockedValue(body) }

    /// The counters in the Prometheus text exposition format (version 0.0.4).
    public func render(inFlight: Int, packages: Int) -> String {
        let s = self.snapshot
        let lines: [(String, String, String)] = [
            ("printplane_cache_hits_total", "counter", "\(s.hits)"),
            ("printplane_cache_misses_total", "counter", "\(s.misses)"),
            ("printplane_cache_upstream_fetches_total", "counter", "\(s.upstreamFetches)"),
            ("printplane_cache_upstream_bytes_total", "counter", "\(s.upstreamBytes)"),
            ("printplane_cache_upstream_failures_total", "counter", "\(s.upstreamFailures)"),
            ("printplane_cache_verification_failures_total", "counter", "\(s.verificationFailures)"),
            ("printplane_cache_bytes_served_total", "counter", "\(s.bytesServed)"),
            ("printplane_cache_refused_busy_total", "counter", "\(s.refusedBusy)"),
            ("printplane_cache_unknown_digests_total", "counter", "\(s.unknownDigests)"),
            ("printplane_cache_downloads_in_flight", "gauge", "\(inFlight)"),
            ("printplane_cache_packages", "gauge", "\(packages)"),
        ]
        return lines.map { "# TYPE \($0.0) \($0.1)\n\($0.0) \($0.2)\n" }.joined()
    }
}
