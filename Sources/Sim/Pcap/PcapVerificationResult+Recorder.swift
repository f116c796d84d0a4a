extension PcapVerificationResult {
    /// Hands the verdict to a run's `MetricsRecorder`, so pcap thresholds are judged like any
    /// other metric. A capture that did not happen, or broke off, records every `pcap.*`
    /// metric of the catalog as skipped with the reason: those thresholds then fail unless the
    /// scenario marks them optional, never pass on a reassuring zero. A capture with drops
    /// records its figures, `pcap.dropped` included, so `pcap.dropped == 0` can fail the run.
    public func record(into recorder: MetricsRecorder) {
        let pcapMetrics = MetricCatalog.all.keys.filter { $0.hasPrefix("pcap.") }
        switch status {
        case .skipped(let reason):
            for name in pcapMetrics { recorder.skip(name, reason: reason) }
        case .failed(let reason):
            for name in pcapMetrics { recorder.skip(name, reason: "capture failed: \(reason)") }
        case .captured, .flaggedDrops:
            for (name, value) in metrics { recorder.set(name, value) }
        }
    }
}
