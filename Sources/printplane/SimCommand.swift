import ArgumentParser
import Foundation
import Sim

/// `printplane sim`: the fleet simulator (DESIGN.md §6 and §8).
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Check and run simulator scenarios (scenarios/*.yaml).",
        discussion: """
            A scenario declares a virtual fleet, printers, a simulated AD, open-model
            arrival rates with ramps, timed events (token expiry, driver storms, server
            kill -9) and thresholds that decide the exit code. The schema, every metric and
            the threshold syntax are in docs/scenarios.md.

            Exit codes:
            \(SimExitCode.allCases.map { "  \($0.rawValue)  \($0.meaning)" }.joined(separator: "\n"))

            Examples:
              printplane sim validate scenarios/*.yaml
            """,
        subcommands: [Validate.self, Run.self, SimNetnsCommand.self, SimCaptureCommand.self]
    )

    /// `printplane sim validate`: every problem of every file, before anything runs.
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check scenario files without running them.",
            discussion: """
                Reports every problem, not only the first, as FILE:LINE:COLUMN: FIELD: MESSAGE
                (with "did you mean" or the valid values where there are any), on standard
                error, in a form editors and CI annotate. Warnings do not fail validation.
                Prints one line per valid file on standard output.

                Exit status: 0 when every file is valid, 2 when any has an error.

                Examples:
                  printplane sim validate scenarios/quickstart.yaml
                  printplane sim validate scenarios/*.yaml
                  printplane sim validate my.yaml || echo "fix the scenario first"
                """
        )

        @Argument(help: "Scenario files to check.")
        var files: [String]

        @Flag(help: "Print nothing for valid files, only problems.")
        var quiet = false

        func validate() throws {
            guard !self.files.isEmpty else { throw ValidationError("give at least one scenario file, e.g. scenarios/quickstart.yaml") }
        }

        func run() async throws {
            var failed = false
            for file in self.files {
                let result = ScenarioLoader.load(contentsOf: file)
                for issue in result.issues {
                    FileHandle.standardError.write(Data((issue.description + "\n").utf8))
                }
                if let scenario = result.scenario {
                    if !self.quiet { print(Self.summary(of: scenario, file: file, warnings: result.warnings.count)) }
                } else {
                    failed = true
                    let count = result.errors.count
                    FileHandle.standardError.write(Data("\(file): invalid, \(count) error\(count == 1 ? "" : "s")\n".utf8))
                }
            }
            if failed { throw ExitCode(SimExitCode.invalidScenario.rawValue) }
        }

        /// `quickstart.yaml: valid · 50 agents · 4 printers · 2 phases, 40s (run 70s) · 3 events · 8 thresholds`.
        static func summary(of scenario: Scenario, file: String, warnings: Int) -> String {
            var parts = ["\(file): valid", "\(scenario.fleet.agents) agents", "\(scenario.printers.count) printers"]
            parts.append("\(scenario.phases.count) phase\(scenario.phases.count == 1 ? "" : "s"), \(ScenarioUnits.format(scenario.phasesEnd)) (run \(ScenarioUnits.format(scenario.duration)))")
            parts.append("\(scenario.events.count) event\(scenario.events.count == 1 ? "" : "s")")
            parts.append("\(scenario.thresholds.count) threshold\(scenario.thresholds.count == 1 ? "" : "s")")
            if warnings > 0 { parts.append("\(warnings) warning\(warnings == 1 ? "" : "s")") }
            return parts.joined(separator: " · ")
        }
    }
}
