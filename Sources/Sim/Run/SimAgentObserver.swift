import PrintplaneAgent
import PrintplaneCore

/// Feeds what the agents' logic reports (driver downloads, `Retry-After`) into the run's
/// metrics.
struct SimAgentObserver: AgentObserver {
    let recorder: MetricsRecorder
    let releases: ReleaseTracker

    func releaseHandled(_ record: JobRecord) {
        self.releases.ended(record)
    }

    func driverDownload(sha256: String, source: String, bytes: Int64, duration: Duration, error: String?) {
        let end = ContinuousClock.now
        self.recorder.record(.driverDownload, intendedStart: end - duration, completion: end, error: error.map { Self.reason($0) })
        guard bytes > 0 else { return }
        self.recorder.increment("driver.bytes", by: Double(bytes))
        // The cloud's sources are its own route; anything else is a LAN cache.
        let fromCloud = source.contains("/api/v1/drivers/")
        self.recorder.increment(fromCloud ? "driver.bytes_from_cloud" : "driver.bytes_from_cache", by: Double(bytes))
    }

    func retryAfter(seconds: Int, route: String) {
        self.recorder.increment("server.retry_after")
    }

    /// A short, countable reason from an error text.
    static func reason(_ text: String) -> String {
        if text.hasPrefix("verification") { return "verification_failed" }
        if text.contains("HTTP 503") || text.contains("busy") { return "busy" }
        if text.contains("connect") || text.contains("unreachable") { return "unreachable" }
        if text.contains("cut") { return "transfer_cut" }
        return String(text.prefix(40))
    }
}
