import Foundation
import Sim
import Testing

@Suite struct MetricsRecorderTests {
    @Test func latencyIsMeasuredFromTheIntendedStart() {
        let origin = ContinuousClock.now
        let recorder = MetricsRecorder(origin: origin)
        // Intended at 1.000 s, completed at 1.250 s: 250 ms, however late it actually started.
        recorder.record(.checkin, intendedStart: origin + .seconds(1), completion: origin + .milliseconds(1250))
        recorder.record(.checkin, intendedStartNanoseconds: 2_000_000_000, completionNanoseconds: 2_010_000_000)
        let snapshot = recorder.snapshot(elapsed: 10)
        #expect(snapshot["checkin.count"] == 2)
        #expect(abs(snapshot["checkin.max"]! - 250) < 0.5)
        #expect(abs(snapshot["checkin.p50"]! - 10) < 0.05)
        #expect(abs(snapshot["checkin.mean"]! - 130) < 0.5)
        #expect(snapshot["checkin.rate"] == 0.2)
        #expect(snapshot["checkin.errors"] == 0)
        // An operation that never succeeded has counts but no latency statistics.
        #expect(snapshot["enroll.count"] == 0)
        #expect(snapshot["enroll.p99"] == nil)
    }

    /// The runner starts the scenario clock after set-up: a set-up that took 30 s neither
    /// shifts the timeline nor dilutes rates.
    @Test func startingTheClockMovesTheOrigin() {
        let created = ContinuousClock.now
        let recorder = MetricsRecorder(origin: created)
        let start = created + .seconds(30)
        recorder.startClock(at: start)
        #expect(recorder.origin == start)
        recorder.record(.checkin, intendedStart: start + .seconds(2), completion: start + .milliseconds(2500))
        #expect(recorder.timeline().map(\.second) == [2])
        #expect(abs(recorder.elapsed(at: start + .seconds(4)) - 4) < 1e-9)
    }

    @Test func errorsAreCountedByReasonAndKeptOutOfLatency() {
        let origin = ContinuousClock.now
        let recorder = MetricsRecorder(origin: origin)
        recorder.record(.enroll, intendedStart: origin, completion: origin + .milliseconds(5))
        recorder.record(.enroll, intendedStart: origin, completion: origin + .seconds(30), error: "token_expired")
        recorder.record(.enroll, intendedStart: origin, completion: origin + .seconds(30), error: "token_expired")
        recorder.record(.driverDownload, intendedStart: origin, completion: origin + .seconds(1), error: "http_503")
        let snapshot = recorder.snapshot(elapsed: 1)
        #expect(snapshot["enroll.errors"] == 2)
        #expect(abs(snapshot["enroll.error_rate"]! - 2.0 / 3.0) < 1e-9)
        #expect(abs(snapshot["enroll.max"]! - 5) < 0.01)
        #expect(snapshot["errors.total"] == 3)
        #expect(recorder.errorsByReason() == ["enroll": ["token_expired": 2], "driver_download": ["http_503": 1]])
    }

    @Test func countersAppearOnlyOnceMeasured() {
        let recorder = MetricsRecorder()
        #expect(recorder.snapshot()["metadata.lost"] == nil)
        recorder.set("metadata.lost", 0)
        recorder.increment("driver.bytes", by: 1024)
        recorder.increment("driver.bytes", by: 1024)
        recorder.dropIteration(.printSend)
        recorder.skip("pcap.dropped", reason: "no CAP_NET_RAW")
        let snapshot = recorder.snapshot()
        #expect(snapshot["metadata.lost"] == 0)
        #expect(snapshot["driver.bytes"] == 2048)
        #expect(snapshot["iterations.dropped"] == 1)
        #expect(recorder.summary(of: .printSend).dropped == 1)
        #expect(recorder.skipped() == ["pcap.dropped": "no CAP_NET_RAW"])
    }

    @Test func timelineBucketsBySecondOfCompletion() throws {
        let origin = ContinuousClock.now
        let recorder = MetricsRecorder(origin: origin)
        // Completions at 20, 170, …, 1370 ms: seven in second 0, three in second 1.
        for index in 0..<10 {
            recorder.record(.checkin, intendedStart: origin + .milliseconds(150 * index), completion: origin + .milliseconds(150 * index + 20))
        }
        recorder.record(.checkin, intendedStart: origin + .seconds(2), completion: origin + .milliseconds(2500), error: "timeout")
        recorder.increment("driver.bytes", by: 500, at: origin + .milliseconds(2100))
        let timeline = recorder.timeline()
        try #require(timeline.map(\.second) == [0, 1, 2])
        #expect(timeline[0].operations["checkin"]?.count == 7)
        #expect(timeline[1].operations["checkin"]?.count == 3)
        #expect(timeline[2].operations["checkin"]?.errors == 1)
        #expect(timeline[2].operations["checkin"]?.p99 == nil)
        #expect(abs((timeline[0].operations["checkin"]?.p99 ?? 0) - 20) < 1)
        #expect(timeline[2].counters["driver.bytes"] == 500)
    }

    @Test func concurrentRecordsAreAllCounted() async {
        let origin = ContinuousClock.now
        let recorder = MetricsRecorder(origin: origin)
        let tasks = 16, perTask = 5_000
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for index in 0..<perTask {
                        let latency = Int64(1 + (index % 100))
                        let operation: SimOperation = index % 2 == 0 ? .checkin : .jobUpload
                        recorder.record(operation, intendedStartNanoseconds: 0, completionNanoseconds: latency * 1_000_000,
                                        error: index % 50 == 0 ? "reason\(task % 2)" : nil)
                        recorder.increment("jobs.printed")
                    }
                }
            }
        }
        let snapshot = recorder.snapshot(elapsed: 1)
        let total = Double(tasks * perTask)
        #expect(snapshot["checkin.count"]! + snapshot["checkin.errors"]! + snapshot["job_upload.count"]! + snapshot["job_upload.errors"]! == total)
        #expect(snapshot["errors.total"] == Double(tasks * perTask / 50))
        #expect(snapshot["jobs.printed"] == total)
        #expect(abs(snapshot["checkin.max"]! - 99) < 0.1)
    }

    @Test func mergedHistogramsGiveExactPercentiles() throws {
        let origin = ContinuousClock.now
        let shardA = MetricsRecorder(origin: origin), shardB = MetricsRecorder(origin: origin), whole = MetricsRecorder(origin: origin)
        for index in 1...1000 {
            let shard = index % 3 == 0 ? shardA : shardB
            for recorder in [shard, whole] {
                recorder.record(.printSend, intendedStartNanoseconds: 0, completionNanoseconds: Int64(index) * 1_000_000)
            }
        }
        shardA.increment("pages.printed", by: 10)
        shardB.increment("pages.printed", by: 5)
        // Through Codable, as `--shard` runs in other processes would do.
        let encoded = try JSONEncoder().encode(shardB.exportState())
        let merged = MetricsRecorder(origin: origin)
        merged.merge(shardA)
        merged.merge(try JSONDecoder().decode(MetricsRecorder.State.self, from: encoded))
        let mergedSnapshot = merged.snapshot(elapsed: 1), wholeSnapshot = whole.snapshot(elapsed: 1)
        for name in ["print_send.count", "print_send.p50", "print_send.p99", "print_send.p999", "print_send.max"] {
            #expect(mergedSnapshot[name] == wholeSnapshot[name], "\(name)")
        }
        #expect(mergedSnapshot["pages.printed"] == 15)
        // 1…999 ms complete in second 0, 1000 ms in second 1.
        #expect(merged.timeline().map { $0.operations["print_send"]?.count ?? 0 } == [999, 1])
    }
}
