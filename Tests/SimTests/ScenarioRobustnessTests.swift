import Foundation
import PropertyBased
import Sim
import Testing

/// Damaged scenario files must give issues, never a crash, a hang or a half-valid scenario.
@Suite struct ScenarioRobustnessTests {
    static let quickstart = (try? String(contentsOf: RepositoryPaths.scenarios.appendingPathComponent("quickstart.yaml"), encoding: .utf8)) ?? ""

    @Test func damagedQuickstartNeverCrashesAndEveryIssueHasAPosition() async throws {
        try #require(!Self.quickstart.isEmpty, "scenarios/quickstart.yaml is missing")
        let lines = Self.quickstart.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let replacements = ["", ":", "- ", "{", "]", "\"", "-1", "0", "1e9", "fast", "  x: y", "\t", "&a", "*a", "!!binary x", "~"]
        await propertyCheck(count: 300, input: Gen.int(in: 0...(lines.count - 1)), Gen.int(in: 0...80), Gen.int(in: 0...(replacements.count - 1))) { line, column, pick in
            var damaged = lines
            var text = damaged[line]
            let cut = text.index(text.startIndex, offsetBy: min(column, text.count))
            text.insert(contentsOf: replacements[pick], at: cut)
            damaged[line] = text
            let result = ScenarioLoader.parse(damaged.joined(separator: "\n"), file: "damaged.yaml")
            if result.scenario == nil {
                #expect(!result.errors.isEmpty, "refused without an error")
            }
            for issue in result.issues {
                #expect(issue.file == "damaged.yaml")
                #expect(issue.line >= 1 && issue.line <= lines.count + 1, "\(issue)")
            }
        }
    }
}
