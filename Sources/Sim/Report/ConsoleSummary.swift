/// The plain-text end-of-run summary: the operations table, the counters, then every
/// threshold with ✓/✗ and the verdict. Plain text (no colour codes) so it reads the same in a
/// terminal, a CI log and a mail.
public enum ConsoleSummary {
    public static func render(_ report: RunReport) -> String {
        var lines: [String] = []
        lines.append("scenario \(report.scenario)  ·  \(String(format: "%.1f", report.durationSeconds))s")
        lines.append("")

        let header = ["operation", "count", "errors", "p50", "p90", "p99", "max", "rate"]
        var rows: [[String]] = []
        for summary in report.activeOperations {
            func latency(_ value: Double?) -> String { value.map { Threshold.format($0, kind: .latency) } ?? "-" }
            rows.append([
                summary.operation.rawValue, String(summary.count), String(summary.errors),
                latency(summary.p50), latency(summary.p90), latency(summary.p99), latency(summary.max),
                Threshold.format(summary.rate, kind: .throughput),
            ])
        }
        if rows.isEmpty {
            lines.append("no operations ran")
        } else {
            lines.append(contentsOf: self.table(header: header, rows: rows, rightAligned: Set(1..<header.count)))
        }

        let operationPrefixes = Set(SimOperation.allCases.map { $0.rawValue + "." })
        let counters = report.metrics.keys.filter { name in
            !operationPrefixes.contains { name.hasPrefix($0) }
        }.sorted()
        if !counters.isEmpty {
            lines.append("")
            let rows = counters.map { name in
                [name, Threshold.format(report.metrics[name]!, kind: MetricCatalog.kind(of: name) ?? .count)]
            }
            lines.append(contentsOf: self.table(header: ["counter", "value"], rows: rows, rightAligned: [1]))
        }
        for (name, reason) in report.skipped.sorted(by: { $0.key < $1.key }) {
            lines.append("skipped \(name): \(reason)")
        }
        if !report.errorsByReason.isEmpty {
            lines.append("")
            lines.append("errors by reason:")
            for (operation, reasons) in report.errorsByReason.sorted(by: { $0.key < $1.key }) {
                for (reason, count) in reasons.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                    lines.append("  \(operation) \(reason): \(count)")
                }
            }
        }

        lines.append("")
        if report.thresholds.isEmpty {
            lines.append("no thresholds declared")
        } else {
            lines.append("thresholds:")
            for result in report.thresholds {
                lines.append("  " + result.line)
            }
        }
        lines.append("")
        lines.append(self.verdict(report))
        return lines.joined(separator: "\n") + "\n"
    }

    /// The last line: what the exit code means for this run.
    public static func verdict(_ report: RunReport) -> String {
        let code = report.exitCode
        switch code {
        case .runError:
            return "RUN ERROR: \(report.runError ?? "unknown") (exit \(code.rawValue))"
        case .thresholdFailed:
            let failed = report.thresholds.filter { !$0.isSuccess }.count
            return "FAILED: \(failed) of \(report.thresholds.count) thresholds did not hold (exit \(code.rawValue))"
        case .passed, .invalidScenario:
            let skipped = report.thresholds.filter { $0.outcome == .skipped }.count
            return "PASSED: \(report.thresholds.count - skipped) of \(report.thresholds.count) thresholds held"
                + (skipped > 0 ? ", \(skipped) skipped (optional)" : "") + " (exit \(code.rawValue))"
        }
    }

    /// Columns padded to their widest cell, with a rule under the header.
    static func table(header: [String], rows: [[String]], rightAligned: Set<Int>) -> [String] {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = Swift.max(widths[index], cell.count)
            }
        }
        func format(_ row: [String]) -> String {
            row.enumerated().map { index, cell in
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                return rightAligned.contains(index) ? padding + cell : cell + padding
            }.joined(separator: "  ")
        }
        var lines = [format(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        lines.append(contentsOf: rows.map(format))
        return lines.map { $0.replacingTrailingSpaces() }
    }
}

extension String {
    fileprivate func replacingTrailingSpaces() -> String {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }
}
