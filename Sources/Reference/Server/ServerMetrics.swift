import CoreMetrics
import Metrics
import Prometheus

/// The server's metrics, on a registry of its own so that several servers (tests) can
/// live in one process. `/metrics` renders the registry in Prometheus text format.
public struct ServerMetrics: Sendable {
    /// The registry `/metrics` exposes.
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    let checkIns: CoreMetrics.Counter
    let checkInsUnchanged: CoreMetrics.Counter
    let checkInsStretched: CoreMetrics.Counter
    let checkInsShed: CoreMetrics.Counter
    let checkInDuration: CoreMetrics.Timer
    let enrollments: CoreMetrics.Counter
    let enrollmentRefusals: CoreMetrics.Counter
    let jobsAccepted: CoreMetrics.Counter
    let jobsDuplicate: CoreMetrics.Counter
    let jobsRejected: CoreMetrics.Counter
    let driverBytes: CoreMetrics.Counter
    let downloadsRefused: CoreMetrics.Counter
    let downloadsInFlight: CoreMetrics.Gauge
    /// Lookups sent to the directory for check-ins (cache misses).
    let directoryLookups: CoreMetrics.Counter
    /// Of those, the ones that failed.
    let directoryErrors: CoreMetrics.Counter
    let directoryLookupDuration: CoreMetrics.Timer
    /// Check-ins answered from fresh cached facts.
    let directoryCacheHits: CoreMetrics.Counter
    /// Check-ins that waited for another check-in's lookup of the same user and computer.
    let directorySharedLookups: CoreMetrics.Counter
    /// Check-ins answered from stale facts because the directory failed.
    let directoryStaleServed: CoreMetrics.Counter
    let directoryCacheEntries: CoreMetrics.Gauge
    /// Check-ins answered 503 directory_unavailable.
    let checkInsDirectoryUnavailable: CoreMetrics.Counter
    let heldJobsRegistered: CoreMetrics.Counter
    let heldJobsReleased: CoreMetrics.Counter
    let longPollsRefused: CoreMetrics.Counter

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5)]
        self.registry = registry
        self.factory = factory
        self.checkIns = CoreMetrics.Counter(label: "printplane_checkin_total", factory: factory)
        self.checkInsUnchanged = CoreMetrics.Counter(label: "printplane_checkin_unchanged_total", factory: factory)
        self.checkInsStretched = CoreMetrics.Counter(label: "printplane_checkin_stretched_total", factory: factory)
        self.checkInsShed = CoreMetrics.Counter(label: "printplane_checkin_shed_total", factory: factory)
        self.checkInDuration = CoreMetrics.Timer(label: "printplane_checkin_duration_seconds", factory: factory)
        self.enrollments = CoreMetrics.Counter(label: "printplane_enroll_total", factory: factory)
        self.enrollmentRefusals = CoreMetrics.Counter(label: "printplane_enroll_refused_total", factory: factory)
        self.jobsAccepted = CoreMetrics.Counter(label: "printplane_jobs_accepted_total", factory: factory)
        self.jobsDuplicate = CoreMetrics.Counter(label: "printplane_jobs_duplicate_total", factory: factory)
        self.jobsRejected = CoreMetrics.Counter(label: "printplane_jobs_rejected_total", factory: factory)
        self.driverBytes = CoreMetrics.Counter(label: "printplane_driver_bytes_total", factory: factory)
        self.downloadsRefused = CoreMetrics.Counter(label: "printplane_driver_downloads_refused_total", factory: factory)
        self.downloadsInFlight = CoreMetrics.Gauge(label: "printplane_driver_downloads_in_flight", factory: factory)
        self.directoryLookups = CoreMetrics.Counter(label: "printplane_directory_lookups_total", factory: factory)
        self.directoryErrors = CoreMetrics.Counter(label: "printplane_directory_lookup_errors_total", factory: factory)
        self.directoryLookupDuration = CoreMetrics.Timer(label: "printplane_directory_lookup_duration_seconds", factory: factory)
        self.directoryCacheHits = CoreMetrics.Counter(label: "printplane_directory_cache_hits_total", factory: factory)
        self.directorySharedLookups = CoreMetrics.Counter(label: "printplane_directory_shared_lookups_total", factory: factory)
        self.directoryStaleServed = CoreMetrics.Counter(label: "printplane_directory_stale_served_total", factory: factory)
        self.directoryCacheEntries = CoreMetrics.Gauge(label: "printplane_directory_cache_entries", factory: factory)
        self.checkInsDirectoryUnavailable = CoreMetrics.Counter(label: "printplane_checkin_directory_unavailable_total", factory: factory)
        self.heldJobsRegistered = CoreMetrics.Counter(label: "printplane_held_jobs_registered_total", factory: factory)
        self.heldJobsReleased = CoreMetrics.Counter(label: "printplane_held_jobs_released_total", factory: factory)
        self.longPollsRefused = CoreMetrics.Counter(label: "printplane_release_long_polls_refused_total", factory: factory)
    }

    /// Counts one HTTP request by route and status.
    func recordRequest(method: String, route: String, status: Int, seconds: Double) {
        CoreMetrics.Counter(label: "printplane_http_requests_total", dimensions: [("method", method), ("route", route), ("status", String(status))], factory: self.factory).increment()
    }

    /// The Prometheus text exposition.
    public func render() -> [UInt8] {
        var buffer = [UInt8]()
        self.registry.emit(into: &buffer)
        return buffer
    }
}
