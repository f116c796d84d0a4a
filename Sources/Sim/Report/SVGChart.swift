import Foundation

/// A small line chart rendered straight to SVG text, so `report.html` needs no script, font
/// or stylesheet from anywhere (it opens from a CI artifact, offline, years later).
struct SVGChart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
    }

    var title: String
    var yUnit: String
    var series: [Series]
    var width = 720.0
    var height = 260.0

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    func render() -> String {
        let left = 64.0, right = 16.0, top = 28.0, bottom = 40.0
        let plotWidth = self.width - left - right, plotHeight = self.height - top - bottom
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(Int(self.width)) \(Int(self.height))\" role=\"img\" aria-label=\"\(HTMLReport.escape(self.title))\">"
        svg += "<text x=\"\(left)\" y=\"18\" class=\"title\">\(HTMLReport.escape(self.title))</text>"
        let all = self.series.flatMap(\.points).filter { $0.y.isFinite && $0.x.isFinite }
        guard !all.isEmpty else {
            svg += "<text x=\"\(self.width / 2)\" y=\"\(self.height / 2)\" text-anchor=\"middle\" class=\"empty\">no data</text></svg>"
            return svg
        }
        let xMax = Swift.max(all.map(\.x).max()!, 1)
        let xMin = Swift.min(all.map(\.x).min()!, 0)
        let yMax = Self.niceCeiling(Swift.max(all.map(\.y).max()!, 0.001))
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - y / yMax * plotHeight }

        for tick in 0...4 {
            let value = yMax * Double(tick) / 4
            let y = py(value)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" class=\"grid\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" class=\"tick\">\(Self.label(value))</text>"
        }
        for tick in 0...5 {
            let value = xMin + (xMax - xMin) * Double(tick) / 5
            svg += "<text x=\"\(f(px(value)))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\" class=\"tick\">\(Self.label(value))s</text>"
        }
        svg += "<text x=\"12\" y=\"\(f(top + plotHeight / 2))\" transform=\"rotate(-90 12 \(f(top + plotHeight / 2)))\" text-anchor=\"middle\" class=\"tick\">\(HTMLReport.escape(self.yUnit))</text>"
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" class=\"frame\"/>"

        for (index, series) in self.series.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            let points = series.points.filter { $0.y.isFinite }.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            if series.points.count == 1 {
                let point = series.points[0]
                svg += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"3\" fill=\"\(color)\"/>"
            } else {
                svg += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"/>"
            }
            let legendX = left + 8 + Double(index % 6) * 110
            let legendY = self.height - 8 - Double(index / 6) * 0
            svg += "<rect x=\"\(f(legendX))\" y=\"\(f(legendY - 8))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(f(legendX + 14))\" y=\"\(f(legendY + 1))\" class=\"legend\">\(HTMLReport.escape(series.name))</text>"
        }
        svg += "</svg>"
        return svg
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// 1, 2, 2.5 or 5 times a power of ten, at or above `value`: readable axis tops.
    static func niceCeiling(_ value: Double) -> Double {
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2.0, 2.5, 5.0, 10.0] where step * magnitude >= value {
            return step * magnitude
        }
        return 10 * magnitude
    }

    static func label(_ value: Double) -> String {
        if value == value.rounded() { return String(Int(value)) }
        return value >= 10 ? String(format: "%.1f", value) : String(format: "%.2g", value)
    }
}
