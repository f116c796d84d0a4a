import Benchmark
import Foundation
import PrintplaneCore
import PrintplaneServer

/// In-process benchmarks of the server's hot paths. The HTTP-level figures (check-in vs a
/// trivial route, driver download vs nginx, ingest over TLS) come from scripts/bench-server.sh.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .mallocCountTotal, .throughput], maxDuration: .seconds(3), maxIterations: 100_000)

    let printers = (0..<50).map { PrinterID("printer-\($0)") }
    let assignments: [Assignment] = (0..<1000).map { index in
        let target: AssignmentTarget
        switch index % 4 {
        case 0: target = .everyone
        case 1: target = .user("user-\(index % 97)")
        case 2: target = .computer("ws-\(index % 89)")
        default: target = .ipRange(IPRange("10.\(index % 256).0.0/16")!)
        }
        return Assignment(id: AssignmentID("a\(index)"), printerID: printers[index % printers.count], profileID: nil, target: target)
    }
    let subject = TargetingSubject(agentID: "agent", computerName: "ws-7", userName: "user-7", addresses: [IPAddress("10.7.1.2")!])

    Benchmark("Targeting: resolve 1000 assignments for one agent") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(TargetingRules.resolve(assignments, for: subject))
        }
    }

    let planned = TargetingRules.resolve(assignments, for: subject).map { assignment in
        PlannedPrinter(id: assignment.printerID, name: assignment.printerID.rawValue, address: "10.0.0.1", protocol: .raw, port: 9100, queue: nil, location: nil, driver: nil, profile: .default)
    }
    Benchmark("Plan ETag of \(planned.count) printers") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Plan.etag(for: planned))
        }
    }

    Benchmark("SQLite store: record a batch of 100 jobs", configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(5), maxIterations: 2000)) { benchmark in
        let directory = NSTemporaryDirectory() + "printplane-bench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(path: directory + "/bench.sqlite")
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var batch = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            batch += 1
            let jobs = (0..<100).map { index in
                JobRecord(
                    jobID: JobID("b\(batch)-\(index)"), user: "user-\(index % 50)", computer: "ws-\(index % 20)", printer: "hq-\(index % 5)",
                    documentName: "doc.pdf", pages: index % 9 + 1, copies: 1, color: index % 3 == 0, duplex: true, bytes: 20_480,
                    protocol: .raw, submittedAt: start, completedAt: start.addingTimeInterval(3), outcome: .printed)
            }
            blackHole(try await store.recordJobs(jobs, agentID: "agent", receivedAt: start))
        }
        benchmark.stopMeasurement()
    }

    let ratio = BenchmarkMetric.custom("ratio_x1000", polarity: .prefersSmaller, useScalingFactor: false)
    let referenceNanoseconds = BenchmarkMetric.custom("unchanged_ns", polarity: .prefersSmaller, useScalingFactor: false)
    let directoryNanoseconds = BenchmarkMetric.custom("unchanged_with_directory_ns", polarity: .prefersSmaller, useScalingFactor: false)
    let httpRatio = BenchmarkMetric.custom("https_ratio_x1000", polarity: .prefersSmaller, useScalingFactor: false)
    let coldP50 = BenchmarkMetric.custom("cold_lookup_p50_us", polarity: .prefersSmaller, useScalingFactor: false)
    let coldP99 = BenchmarkMetric.custom("cold_lookup_p99_us", polarity: .prefersSmaller, useScalingFactor: false)
    Benchmark(
        "Check-in with directory facts (warm cache) vs the unchanged path; cold lookup vs the simulated AD",
        configuration: .init(metrics: [.wallClock, ratio, httpRatio, referenceNanoseconds, directoryNanoseconds, coldP50, coldP99], warmupIterations: 0, maxDuration: .seconds(300), maxIterations: 1)
    ) { benchmark in
        do {
            let result = try await DirectoryCheckInLoad.measure(DirectoryCheckInLoad.Parameters.fromEnvironment())
            benchmark.measurement(ratio, Int(result.ratio * 1000))
            benchmark.measurement(httpRatio, Int(result.httpRatio * 1000))
            benchmark.measurement(referenceNanoseconds, Int(result.referenceNanoseconds))
            benchmark.measurement(directoryNanoseconds, Int(result.directoryNanoseconds))
            benchmark.measurement(coldP50, Int(result.percentile(0.5)))
            benchmark.measurement(coldP99, Int(result.percentile(0.99)))
            print(result.summary)
        } catch {
            fatalError("directory check-in benchmark failed: \(error)")
        }
    }
}
