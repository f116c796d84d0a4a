import Sim
import Testing

@Suite struct ThresholdTests {
    static let parsing: [(String, String, Threshold.Operator, Double)] = [
        ("checkin.p99 < 200ms", "checkin.p99", .lessThan, 200),
        ("checkin.p99<0.2s", "checkin.p99", .lessThan, 200),
        ("enroll.max <= 2s", "enroll.max", .lessOrEqual, 2000),
        ("job_upload.p50 > 1.5", "job_upload.p50", .greaterThan, 1.5),
        ("metadata.lost == 0", "metadata.lost", .equal, 0),
        ("agents.enrolled >= 50", "agents.enrolled", .greaterOrEqual, 50),
        ("jobs.failed != 3", "jobs.failed", .notEqual, 3),
        ("driver_download.error_rate < 5%", "driver_download.error_rate", .lessThan, 0.05),
        ("driver.bytes < 20MB", "driver.bytes", .lessThan, 20_971_520),
        ("driver.converge_seconds < 2m", "driver.converge_seconds", .lessThan, 120),
        ("checkin.rate > 20/s", "checkin.rate", .greaterThan, 20),
        ("pcap.wan_bytes.agent_printer == 0", "pcap.wan_bytes.agent_printer", .equal, 0),
        ("pcap.packets.other < 100", "pcap.packets.other", .lessThan, 100),
    ]

    @Test(arguments: parsing)
    func parsesAndNormalisesUnits(_ text: String, _ metric: String, _ op: Threshold.Operator, _ value: Double) throws {
        let threshold = try Threshold.parse(text).get()
        #expect(threshold.metric == metric)
        #expect(threshold.op == op)
        #expect(abs(threshold.value - value) < 1e-9)
    }

    static let refusals: [(String, String, String?)] = [
        ("chekin.p99 < 200ms", "unknown metric `chekin.p99`", "did you mean `checkin.p99`?"),
        ("checkin.p99 =< 1s", "invalid operator `=<`", "did you mean `<=`?"),
        ("checkin.p99 = 1s", "invalid operator", nil),
        ("checkin.p99 <> 1s", "invalid operator `<>`", nil),
        ("checkin.p99 < 5%", "`5%` is not a valid value for `checkin.p99`", "use a duration like 200ms"),
        ("metadata.lost == 0ms", "`0ms` is not a valid value for `metadata.lost` (a count)", "use a plain number like 0"),
        ("metadata.lost == ", "missing value", nil),
        ("< 3", "missing metric name", nil),
        ("metadata.lost", "expected `metric op value`", nil),
    ]

    @Test(arguments: refusals)
    func refusesWithAReason(_ text: String, _ message: String, _ suggestion: String?) {
        guard case .failure(let error) = Threshold.parse(text) else {
            Issue.record("\(text) should be refused")
            return
        }
        #expect(error.message.contains(message), "\(error)")
        if let suggestion { #expect(error.suggestion?.contains(suggestion) == true, "\(error)") }
    }

    static let verdicts: [(String, Double?, ThresholdResult.Outcome)] = [
        ("checkin.p99 < 200ms", 199.9, .passed),
        ("checkin.p99 < 200ms", 200, .failed),
        ("checkin.p99 <= 200ms", 200, .passed),
        ("metadata.lost == 0", 0, .passed),
        ("metadata.lost == 0", 1, .failed),
        ("jobs.printed > 0", 0, .failed),
        ("jobs.printed >= 0", 0, .passed),
        ("jobs.failed != 0", 0, .failed),
        ("driver_download.error_rate < 5%", 0.049, .passed),
        ("driver_download.error_rate < 5%", 0.05, .failed),
        ("checkin.p99 < 200ms", .nan, .failed),
        ("checkin.p99 < 200ms", nil, .missing),
    ]

    @Test(arguments: verdicts)
    func evaluates(_ text: String, _ actual: Double?, _ outcome: ThresholdResult.Outcome) throws {
        let threshold = try Threshold.parse(text).get()
        let metrics = actual.map { [threshold.metric: $0] } ?? [:]
        let result = threshold.evaluate(metrics: metrics)
        #expect(result.outcome == outcome)
        #expect(result.isSuccess == (outcome == .passed))
    }

    @Test func skippedMetricsPassOnlyOptionalThresholds() throws {
        let optional = try Threshold.parse("pcap.print_packets_to_cloud == 0", optional: true).get()
        let required = try Threshold.parse("pcap.print_packets_to_cloud == 0").get()
        let skipped: Set = ["pcap.print_packets_to_cloud"]
        let results = ThresholdResult.evaluate([optional, required], metrics: ["pcap.print_packets_to_cloud": 0], skipped: skipped)
        #expect(results.map(\.outcome) == [.skipped, .missing])
        #expect(results.map(\.isSuccess) == [true, false])
        #expect(results[0].line.hasPrefix("– pcap.print_packets_to_cloud == 0 (optional)"))
        #expect(results[1].line.hasPrefix("✗ "))
    }

    @Test func linesAreReadable() throws {
        let passed = try Threshold.parse("checkin.p99 < 200ms").get().evaluate(metrics: ["checkin.p99": 12.34])
        #expect(passed.line == "✓ checkin.p99 < 200ms  (actual 12.3ms)")
        let failed = try Threshold.parse("driver.bytes < 1MB").get().evaluate(metrics: ["driver.bytes": 3 * 1024 * 1024])
        #expect(failed.line == "✗ driver.bytes < 1MB  (actual 3.0MB)")
        let missing = try Threshold.parse("metadata.lost == 0").get().evaluate(metrics: [:])
        #expect(missing.line == "✗ metadata.lost == 0  (metric not measured, so the threshold cannot hold)")
    }

    @Test func catalogHasEveryNameTheBriefLists() {
        for operation in ["enroll", "checkin", "checkin_changed", "checkin_unchanged", "driver_download", "job_upload", "print_send", "login"] {
            for statistic in ["p50", "p90", "p95", "p99", "p999", "max", "mean", "count", "errors", "rate"] {
                #expect(MetricCatalog.kind(of: "\(operation).\(statistic)") != nil, "\(operation).\(statistic)")
            }
        }
        for counter in ["enroll.accepted", "enroll.refused_expired", "tokens.expired_accepted", "metadata.lost", "metadata.duplicated",
                        "crosscheck.users_mismatch", "iterations.dropped", "driver.converge_seconds", "server.retry_after",
                        "pcap.non_tls_to_cloud", "pcap.wan_bytes.agent_ad", "pcap.packets.agent_server"] {
            #expect(MetricCatalog.kind(of: counter) != nil, "\(counter)")
        }
        #expect(MetricCatalog.kind(of: "checkin.p98") == nil)
    }
}
