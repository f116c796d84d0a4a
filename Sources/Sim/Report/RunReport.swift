import Foundation

/// Everything a run found, as written to `report.json`: the input to the console summary
/// and the HTML page, and what a CI job or a later comparison reads.
///
/// It carries the verdict and exit code with the evidence for them (thresholds with their
/// actual values, every metric, the timeline), so nobody has to re-run to see why a run failed.
public struct RunReport: Sendable, Equatable, Codable {
    /// Bumped when a field changes meaning; readers refuse versions they do not know.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    public var scenario: String
    public var description: String?
    public var sourceFile: String?
    /// Whole seconds (ISO 8601 in the file).
    public var startedAt: Date
    public var durationSeconds: Double
    /// Set when the run could not complete; the verdict is then a run error.
    public var runError: String?
    public var operations: [OperationSummary]
    /// Every measured metric by its ``MetricCatalog`` name, in catalog units.
    public var metrics: [String: Double]
    /// Metrics deliberately not measured, with why (e.g. pcap without CAP_NET_RAW).
    public var skipped: [String: String]
    /// Operation → reason → count.
    public var errorsByReason: [String: [String: Int]]
    public var thresholds: [ThresholdResult]
    public var timeline: [TimelinePoint]
    /// Free-form lines the runner wants in the report (machine, versions, what was skipped).
    public var notes: [String]

    public init(
        scenario: String, description: String? = nil, sourceFile: String? = nil, startedAt: Date, durationSeconds: Double,
        runError: String? = nil, operations: [OperationSummary], metrics: [String: Double], skipped: [String: String] = [:],
        errorsByReason: [String: [String: Int]] = [:], thresholds: [ThresholdResult], timeline: [TimelinePoint] = [], notes: [String] = []
    ) {
        self.formatVersion = Self.currentFormatVersion
        self.scenario = scenario
        self.description = description
        self.sourceFile = sourceFile
        self.startedAt = Date(timeIntervalSince1970: startedAt.timeIntervalSince1970.rounded(.down))
        self.durationSeconds = durationSeconds
        self.runError = runError
        self.operations = operations
        self.metrics = metrics
        self.skipped = skipped
        self.errorsByReason = errorsByReason
        self.thresholds = thresholds
        self.timeline = timeline
        self.notes = notes
    }

    /// Builds the report of a finished (or broken) run: takes the recorder's figures and
    /// evaluates the scenario's thresholds against them.
    public static func make(scenario: Scenario, recorder: MetricsRecorder, startedAt: Date, elapsed: Double? = nil, runError: String? = nil, notes: [String] = []) -> RunReport {
        let seconds = elapsed ?? recorder.elapsed()
        let metrics = recorder.snapshot(elapsed: seconds)
        let skipped = recorder.skipped()
        let operations = SimOperation.allCases.map { recorder.summary(of: $0, elapsed: seconds) }
        return RunReport(
            scenario: scenario.name, description: scenario.description, sourceFile: scenario.sourceFile, startedAt: startedAt,
            durationSeconds: seconds, runError: runError, operations: operations, metrics: metrics, skipped: skipped,
            errorsByReason: recorder.errorsByReason(),
            thresholds: ThresholdResult.evaluate(scenario.thresholds, metrics: metrics, skipped: Set(skipped.keys)),
            timeline: recorder.timeline(), notes: notes
        )
    }

    /// 0 when every threshold held, 1 when one failed, 3 when the run broke (DESIGN.md §8).
    public var exitCode: SimExitCode {
        if self.runError != nil { return .runError }
        return self.thresholds.allSatisfy(\.isSuccess) ? .passed : .thresholdFailed
    }

    /// Operations that did anything, in catalog order.
    public var activeOperations: [OperationSummary] {
        self.operations.filter { $0.count + $0.errors + $0.dropped > 0 }
    }

    // MARK: - Files

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    public func jsonData() throws -> Data {
        try Self.encoder().encode(self)
    }

    /// Reads a `report.json`, refusing a format version this build does not understand.
    public static func read(from url: URL) throws -> RunReport {
        let report = try Self.decoder().decode(RunReport.self, from: Data(contentsOf: url))
        guard report.formatVersion <= Self.currentFormatVersion else {
            throw ReportError.unsupportedVersion(report.formatVersion, url.path)
        }
        return report
    }

    /// Writes `report.json` and `report.html` into `directory` (created if needed), each
    /// through a temporary file and a rename, so a crash never leaves half a report.
    @discardableResult
    public func write(to directory: URL) throws -> (json: URL, html: URL) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ReportError.cannotWrite(directory.path, error)
        }
        let json = directory.appendingPathComponent("report.json")
        let html = directory.appendingPathComponent("report.html")
        do {
            try self.jsonData().write(to: json, options: .atomic)
            try Data(HTMLReport.render(self).utf8).write(to: html, options: .atomic)
        } catch {
            throw ReportError.cannotWrite(directory.path, error)
        }
        return (json, html)
    }
}

/// Why a report could not be written or read.
public struct ReportError: Error, Sendable, CustomStringConvertible {
    private enum Base: Sendable {
        case cannotWrite(String, String)
        case unsupportedVersion(Int, String)
    }

    private let base: Base

    static func cannotWrite(_ path: String, _ error: any Error) -> ReportError {
        ReportError(base: .cannotWrite(path, "\(error)"))
    }

    static func unsupportedVersion(_ version: Int, _ path: String) -> ReportError {
        ReportError(base: .unsupportedVersion(version, path))
    }

    public var description: String {
        switch self.base {
        case .cannotWrite(let path, let error): "cannot write the report to \(path): \(error)"
        case .unsupportedVersion(let version, let path): "\(path) is report format \(version); this printplane reads up to \(RunReport.currentFormatVersion)"
        }
    }
}
