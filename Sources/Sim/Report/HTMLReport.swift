import Foundation

/// `report.html`: one self-contained page (inline CSS and inline SVG, no script, no
/// external resource) with the verdict, the tables of the console summary and charts over
/// time: latency percentiles per operation, throughput, errors and driver bytes.
public enum HTMLReport {
    public static func render(_ report: RunReport) -> String {
        var body = ""
        let code = report.exitCode
        let verdictClass = code == .passed ? "pass" : "fail"
        body += "<h1>Printplane simulation: \(escape(report.scenario))</h1>"
        if let description = report.description { body += "<p>\(escape(description))</p>" }
        body += "<p class=\"verdict \(verdictClass)\">\(escape(ConsoleSummary.verdict(report)))</p>"
        body += "<p class=\"meta\">started \(escape(ISO8601DateFormatter().string(from: report.startedAt))) · \(String(format: "%.1f", report.durationSeconds)) s"
        if let file = report.sourceFile { body += " · \(escape(file))" }
        body += "</p>"

        body += "<h2>Thresholds</h2>"
        if report.thresholds.isEmpty {
            body += "<p>No thresholds declared.</p>"
        } else {
            body += "<table><tr><th></th><th>threshold</th><th>actual</th><th>outcome</th></tr>"
            for result in report.thresholds {
                let kind = MetricCatalog.kind(of: result.threshold.metric) ?? .count
                let mark = result.isSuccess ? (result.outcome == .skipped ? "–" : "✓") : "✗"
                body += "<tr class=\"\(result.isSuccess ? "pass" : "fail")\"><td>\(mark)</td><td><code>\(escape(result.threshold.description))</code></td>"
                body += "<td>\(result.actual.map { escape(Threshold.format($0, kind: kind)) } ?? "–")</td><td>\(result.outcome.rawValue)</td></tr>"
            }
            body += "</table>"
        }

        body += "<h2>Operations</h2>"
        let active = report.activeOperations
        if active.isEmpty {
            body += "<p>No operations ran.</p>"
        } else {
            body += "<table><tr><th>operation</th><th>count</th><th>errors</th><th>dropped</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th><th>rate</th></tr>"
            for summary in active {
                func latency(_ value: Double?) -> String { value.map { Threshold.format($0, kind: .latency) } ?? "–" }
                body += "<tr><td>\(summary.operation.rawValue)</td><td>\(summary.count)</td><td>\(summary.errors)</td><td>\(summary.dropped)</td>"
                for value in [summary.p50, summary.p90, summary.p95, summary.p99, summary.p999, summary.max, summary.mean] {
                    body += "<td>\(latency(value))</td>"
                }
                body += "<td>\(Threshold.format(summary.rate, kind: .throughput))</td></tr>"
            }
            body += "</table>"
            body += "<p class=\"meta\">Latency is measured from each operation's intended start time (open model, no coordinated omission).</p>"
        }

        body += "<h2>Over time</h2>"
        body += self.charts(report).joined()

        let operationPrefixes = SimOperation.allCases.map { $0.rawValue + "." }
        let counters = report.metrics.keys.filter { name in !operationPrefixes.contains { name.hasPrefix($0) } }.sorted()
        body += "<h2>Counters</h2><table><tr><th>metric</th><th>value</th></tr>"
        for name in counters {
            body += "<tr><td><code>\(escape(name))</code></td><td>\(escape(Threshold.format(report.metrics[name]!, kind: MetricCatalog.kind(of: name) ?? .count)))</td></tr>"
        }
        for (name, reason) in report.skipped.sorted(by: { $0.key < $1.key }) {
            body += "<tr><td><code>\(escape(name))</code></td><td>skipped: \(escape(reason))</td></tr>"
        }
        body += "</table>"

        if !report.errorsByReason.isEmpty {
            body += "<h2>Errors by reason</h2><table><tr><th>operation</th><th>reason</th><th>count</th></tr>"
            for (operation, reasons) in report.errorsByReason.sorted(by: { $0.key < $1.key }) {
                for (reason, count) in reasons.sorted(by: { $0.value > $1.value }) {
                    body += "<tr><td>\(escape(operation))</td><td><code>\(escape(reason))</code></td><td>\(count)</td></tr>"
                }
            }
            body += "</table>"
        }
        if let error = report.runError {
            body += "<h2>Run error</h2><pre>\(escape(error))</pre>"
        }
        if !report.notes.isEmpty {
            body += "<h2>Notes</h2><ul>" + report.notes.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
        }

        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Printplane report: \(escape(report.scenario))</title>
            <style>\(self.css)</style>
            </head><body>\(body)</body></html>

            """
    }

    /// The charts, in the order a reader asks questions: how fast, how much, what broke, what it cost.
    static func charts(_ report: RunReport) -> [String] {
        var charts: [String] = []
        let timeline = report.timeline
        let active = report.activeOperations.map(\.operation.rawValue)
        for operation in active {
            let series = [("p50", \TimelinePoint.OperationInterval.p50), ("p90", \.p90), ("p99", \.p99), ("max", \.max)].map { name, path in
                SVGChart.Series(name: name, points: timeline.compactMap { point in
                    point.operations[operation].flatMap { $0[keyPath: path] }.map { (Double(point.second), $0) }
                })
            }
            if series.contains(where: { !$0.points.isEmpty }) {
                charts.append(SVGChart(title: "\(operation) latency percentiles", yUnit: "ms", series: series).render())
            }
        }
        let throughput = active.map { operation in
            SVGChart.Series(name: operation, points: timeline.map { (Double($0.second), Double($0.operations[operation]?.count ?? 0)) })
        }
        charts.append(SVGChart(title: "Throughput (completed per second)", yUnit: "ops/s", series: throughput).render())
        let errors = active.map { operation in
            SVGChart.Series(name: operation, points: timeline.map { (Double($0.second), Double($0.operations[operation]?.errors ?? 0)) })
        }
        charts.append(SVGChart(title: "Errors per second", yUnit: "errors/s", series: errors).render())
        let bytes = SVGChart.Series(name: "driver.bytes", points: timeline.map { (Double($0.second), ($0.counters["driver.bytes"] ?? 0) / (1024 * 1024)) })
        charts.append(SVGChart(title: "Driver bytes served per second", yUnit: "MB/s", series: timeline.contains { $0.counters["driver.bytes"] != nil } ? [bytes] : []).render())
        return charts
    }

    /// HTML text escaping for everything that came from a file or a run.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    static let css = """
        body{font:14px/1.45 -apple-system,system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 12px}
        h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
        table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
        th:first-child,td:first-child,td:nth-child(2){text-align:left}
        tr.fail td{color:#b00020}tr.pass td:first-child{color:#137333}
        .verdict{font-weight:600;padding:8px 12px;border-radius:4px}.verdict.pass{background:#e6f4ea;color:#137333}
        .verdict.fail{background:#fce8e6;color:#b00020}.meta{color:#666}
        svg.chart{width:100%;max-width:760px;display:block;margin:12px 0}
        svg .title{font-size:13px;font-weight:600}svg .tick,svg .legend{font-size:10px;fill:#555}
        svg .grid{stroke:#eee}svg .frame{fill:none;stroke:#ccc}svg .empty{fill:#999;font-size:12px}
        """
}
