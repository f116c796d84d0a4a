import Foundation
import Sim
import Testing

@Suite struct ScenarioDocumentationTests {
    /// docs/scenarios.md must document every metric the catalog knows, and every event kind.
    @Test func referencePageCoversTheCatalog() throws {
        let page = try String(contentsOf: RepositoryPaths.root.appendingPathComponent("docs/scenarios.md"), encoding: .utf8)
        for counter in MetricCatalog.counters {
            #expect(page.contains("`\(counter.name)`"), "docs/scenarios.md lacks \(counter.name)")
        }
        for operation in SimOperation.allCases {
            #expect(page.contains("`\(operation.rawValue)`"), "docs/scenarios.md lacks \(operation.rawValue)")
        }
        for statistic in MetricCatalog.operationStatistics {
            #expect(page.contains("`.\(statistic.name)`"), "docs/scenarios.md lacks .\(statistic.name)")
        }
        for code in SimExitCode.allCases {
            #expect(page.contains("| \(code.rawValue) |"), "docs/scenarios.md lacks exit code \(code.rawValue)")
        }
    }
}
