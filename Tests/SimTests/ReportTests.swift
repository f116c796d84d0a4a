import Foundation
import Sim
import Testing

@Suite struct ReportTests {
    static func sampleReport(threshold: String = "checkin.p99 < 500ms") throws -> RunReport {
        let scenario = try ScenarioLoader.parse("""
            name: report-sample
            description: "a <small> & quick run"
            fleet: { agents: 5 }
            phases:
              - { name: a, duration: 5s, checkins: 2/s }
            thresholds:
              - "\(threshold)"
              - "metadata.lost == 0"
              - { metric: pcap.print_packets_to_cloud, op: "==", value: 0, optional: true }
            """, file: "sample.yaml").get()
        let origin = ContinuousClock.now
        let recorder = MetricsRecorder(origin: origin)
        for second in 0..<5 {
            for index in 0..<4 {
                let start = origin + .seconds(second) + .milliseconds(index * 250)
                recorder.record(.checkin, intendedStart: start, completion: start + .milliseconds(10 + index * 5))
            }
            recorder.increment("driver.bytes", by: 1_048_576, at: origin + .seconds(second))
        }
        recorder.record(.enroll, intendedStart: origin, completion: origin + .milliseconds(30))
        recorder.record(.enroll, intendedStart: origin, completion: origin + .milliseconds(30), error: "token_expired")
        recorder.set("metadata.lost", 0)
        recorder.skip("pcap.print_packets_to_cloud", reason: "no CAP_NET_RAW")
        return RunReport.make(scenario: scenario, recorder: recorder, startedAt: Date(timeIntervalSince1970: 1_790_000_000.7), elapsed: 5, notes: ["2 cores"])
    }

    @Test func jsonRoundTrips() throws {
        let report = try Self.sampleReport()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("printplane-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try report.write(to: folder)
        let read = try RunReport.read(from: files.json)
        #expect(read == report)
        #expect(read.startedAt == Date(timeIntervalSince1970: 1_790_000_000))
        #expect(read.metrics["checkin.count"] == 20)
        #expect(FileManager.default.fileExists(atPath: files.html.path))
        let json = try String(contentsOf: files.json, encoding: .utf8)
        #expect(json.contains("\"startedAt\" : \"2026-09-21T"))
    }

    @Test func exitCodeFollowsTheThresholds() throws {
        let passing = try Self.sampleReport()
        #expect(passing.thresholds.map(\.outcome) == [.passed, .passed, .skipped])
        #expect(passing.exitCode == .passed)
        let impossible = try Self.sampleReport(threshold: "checkin.p99 < 1ms")
        #expect(impossible.exitCode == .thresholdFailed)
        #expect(impossible.exitCode.rawValue == 1)
        var broken = passing
        broken.runError = "server did not start"
        #expect(broken.exitCode == .runError)
        #expect(broken.exitCode.rawValue == 3)
        #expect(SimExitCode.invalidScenario.rawValue == 2)
    }

    @Test func consoleSummaryHasTheTableCountersAndVerdict() throws {
        let text = ConsoleSummary.render(try Self.sampleReport(threshold: "checkin.p99 < 1ms"))
        let lines = text.split(separator: "\n").map(String.init)
        let header = try #require(lines.first { $0.hasPrefix("operation") })
        for column in ["count", "errors", "p50", "p90", "p99", "max", "rate"] {
            #expect(header.contains(column))
        }
        let checkin = try #require(lines.first { $0.hasPrefix("checkin ") })
        #expect(checkin.contains(" 20 ") && checkin.contains("4.0/s"))
        #expect(lines.contains { $0.hasPrefix("enroll ") && $0.contains(" 1 ") })
        #expect(lines.contains { $0.hasPrefix("driver.bytes") && $0.hasSuffix("5.0MB") })
        #expect(lines.contains { $0.hasPrefix("metadata.lost") && $0.hasSuffix(" 0") })
        #expect(lines.contains("  enroll token_expired: 1"))
        #expect(lines.contains { $0.hasPrefix("  ✗ checkin.p99 < 1ms") })
        #expect(lines.contains("  ✓ metadata.lost == 0  (actual 0)"))
        #expect(lines.contains { $0.hasPrefix("  – pcap.print_packets_to_cloud == 0 (optional)") })
        #expect(lines.contains("skipped pcap.print_packets_to_cloud: no CAP_NET_RAW"))
        #expect(lines.last == "FAILED: 1 of 3 thresholds did not hold (exit 1)")
        let passing = ConsoleSummary.render(try Self.sampleReport())
        #expect(passing.hasSuffix("PASSED: 2 of 3 thresholds held, 1 skipped (optional) (exit 0)\n"))
    }

    @Test func htmlIsSelfContainedWithCharts() throws {
        let html = HTMLReport.render(try Self.sampleReport())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<svg"))
        #expect(html.components(separatedBy: "<svg").count - 1 >= 5)  // latency per active op, throughput, errors, bytes
        #expect(html.contains("<polyline"))
        #expect(html.contains("checkin latency percentiles"))
        #expect(html.contains("Driver bytes served per second"))
        // Nothing is fetched from anywhere: no URLs, no scripts, no external links or images.
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(!html.contains("<script") && !html.contains("<link") && !html.contains("src="))
        // Text from the scenario is escaped.
        #expect(html.contains("a &lt;small&gt; &amp; quick run"))
        #expect(!html.contains("<small>"))
    }

    @Test func progressLineSummarisesTheRun() {
        let line = ProgressReporter.line(
            scenario: "quickstart",
            snapshot: ["agents.enrolled": 48, "checkin.count": 200, "checkin.rate": 20.04, "checkin.p99": 12.3, "errors.total": 2, "iterations.dropped": 0, "jobs.printed": 40],
            elapsed: 12, totalSeconds: 70, agents: 50
        )
        #expect(line == "[ 12s/70s] quickstart · enrolled 48/50 · checkin 20.0/s p99 12.3ms · jobs 40 · errors 2 · dropped 0")
    }

    @Test func progressReporterWritesInPlaceOnATerminalAndLinesOtherwise() async throws {
        let recorder = MetricsRecorder()
        let collected = Collected()
        let tty = ProgressReporter(recorder: recorder, scenario: "s", isTTY: true, output: { collected.append($0) })
        tty.emit()
        tty.finish()
        let plain = ProgressReporter(recorder: recorder, scenario: "s", isTTY: false, output: { collected.append($0) })
        plain.emit()
        let writes = collected.values
        #expect(writes.count == 3)
        #expect(writes[0].hasPrefix("\r\u{1B}[2K[") && !writes[0].hasSuffix("\n"))
        #expect(writes[1] == "\n")
        #expect(writes[2].hasPrefix("[") && writes[2].hasSuffix("\n"))
    }

    @Test func progressReporterServiceTicksUntilCancelled() async throws {
        let collected = Collected()
        let reporter = ProgressReporter(recorder: MetricsRecorder(), scenario: "s", isTTY: false, interval: .milliseconds(20), output: { collected.append($0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await reporter.run() }
            // Wait for three ticks (bounded), however loaded the machine is, then stop it.
            let deadline = ContinuousClock.now + .seconds(20)
            while collected.values.count < 3, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            group.cancelAll()
            try await group.waitForAll()
        }
        #expect(collected.values.count >= 3)
    }
}

/// Thread-safe sink for output closures in tests.
final class Collected: Sendable {
    private let storage = Mutex<[String]>([])

    func append(_ text: String) { self.storage.withLock { $0.append(text) } }
    var values: [String] { self.storage.withLock { $0 } }
}

import Synchronization
