import AsyncAlgorithms
import Foundation
import ServiceLifecycle

/// Shows a run while it happens: on a terminal, one status line rewritten in place every
/// `interval`; otherwise (CI logs, pipes) a plain line every `plainInterval`, so logs stay
/// readable and still prove the run is alive. Fed from the recorder's snapshots; never
/// touches the measurement path.
public struct ProgressReporter: Service {
    /// Where lines go; the default writes to standard output.
    public typealias Output = @Sendable (String) -> Void

    let recorder: MetricsRecorder
    let scenario: String
    let totalSeconds: Double?
    let agents: Int?
    let isTTY: Bool
    let interval: Duration
    let output: Output

    /// - Parameters:
    ///   - isTTY: whether standard output is a terminal (`isatty(STDOUT_FILENO)` by default).
    ///   - interval: refresh period; default 1 s on a terminal, 10 s otherwise.
    public init(
        recorder: MetricsRecorder, scenario: String, totalSeconds: Double? = nil, agents: Int? = nil,
        isTTY: Bool = isatty(STDOUT_FILENO) != 0, interval: Duration? = nil,
        output: @escaping Output = { text in FileHandle.standardOutput.write(Data(text.utf8)) }
    ) {
        self.recorder = recorder
        self.scenario = scenario
        self.totalSeconds = totalSeconds
        self.agents = agents
        self.isTTY = isTTY
        self.interval = interval ?? (isTTY ? .seconds(1) : .seconds(10))
        self.output = output
    }

    public func run() async throws {
        for await _ in AsyncTimerSequence(interval: self.interval, clock: .continuous).cancelOnGracefulShutdown() {
            self.emit()
        }
        self.finish()
    }

    /// Writes one update now.
    public func emit() {
        let line = Self.line(scenario: self.scenario, snapshot: self.recorder.snapshot(), elapsed: self.recorder.elapsed(), totalSeconds: self.totalSeconds, agents: self.agents)
        // \r + "erase line" keeps a single line on a terminal; plain newlines elsewhere.
        self.output(self.isTTY ? "\r\u{1B}[2K" + line : line + "\n")
    }

    /// Ends the in-place line so the summary starts on a fresh line.
    public func finish() {
        if self.isTTY { self.output("\n") }
    }

    /// The status text, e.g. `[ 12s/70s] quickstart · enrolled 48/50 · checkin 20.1/s p99 12ms · jobs 40 · errors 0 · dropped 0`.
    public static func line(scenario: String, snapshot: [String: Double], elapsed: Double, totalSeconds: Double?, agents: Int?) -> String {
        var parts: [String] = []
        let clock = totalSeconds.map { String(format: "[%3.0fs/%.0fs]", elapsed, $0) } ?? String(format: "[%3.0fs]", elapsed)
        parts.append("\(clock) \(scenario)")
        let enrolled = Int(snapshot["agents.enrolled"] ?? snapshot["enroll.count"] ?? 0)
        if let agents { parts.append("enrolled \(enrolled)/\(agents)") }
        for operation in [SimOperation.checkin, .driverDownload, .jobUpload, .printSend, .login] {
            let count = snapshot["\(operation.rawValue).count"] ?? 0
            guard count > 0 else { continue }
            var text = "\(operation.rawValue) \(Threshold.format(snapshot["\(operation.rawValue).rate"] ?? 0, kind: .throughput))"
            if let p99 = snapshot["\(operation.rawValue).p99"] { text += " p99 \(Threshold.format(p99, kind: .latency))" }
            parts.append(text)
        }
        if let jobs = snapshot["jobs.printed"] { parts.append("jobs \(Int(jobs))") }
        parts.append("errors \(Int(snapshot["errors.total"] ?? 0))")
        parts.append("dropped \(Int(snapshot["iterations.dropped"] ?? 0))")
        return parts.joined(separator: " · ")
    }
}
