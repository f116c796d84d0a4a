import Foundation
import Sim
import Testing

/// Each bad fixture must produce exactly these errors, at these positions, and no scenario.
@Suite struct ScenarioValidationTests {
    struct Expected: Sendable, CustomStringConvertible {
        var line: Int
        var column: Int
        var path: String
        var message: String
        var suggestion: String? = nil

        var description: String { "\(self.line):\(self.column) \(self.path): \(self.message)" }
    }

    static let cases: [(String, [Expected])] = [
        ("unknown-keys.yaml", [
            Expected(line: 4, column: 3, path: "fleet.site", message: "unknown key `site`", suggestion: "did you mean `sites`?"),
            Expected(line: 8, column: 5, path: "phases[0].chekins", message: "unknown key `chekins`", suggestion: "did you mean `checkins`?"),
            Expected(line: 11, column: 7, path: "phases[0].print.page", message: "unknown key `page`", suggestion: "did you mean `pages`?"),
        ]),
        ("wrong-types.yaml", [
            Expected(line: 2, column: 7, path: "seed", message: "expected a whole number"),
            Expected(line: 4, column: 11, path: "fleet.agents", message: "expected a whole number, got \"many\""),
            Expected(line: 5, column: 10, path: "fleet.sites", message: "got a list"),
            Expected(line: 8, column: 21, path: "printers.protocols.raw", message: "expected a number, got \"heavy\""),
            Expected(line: 11, column: 15, path: "phases[0].duration", message: "expected a duration", suggestion: "durations need a unit: 10s or 10ms?"),
            Expected(line: 12, column: 15, path: "phases[0].checkins", message: "expected a rate like 20/s, 300/m or 1000/h, got \"fast\""),
            Expected(line: 14, column: 12, path: "directory.enabled", message: "expected true or false"),
        ]),
        ("impossible-ramps.yaml", [
            Expected(line: 6, column: 15, path: "phases[0].duration", message: "must be greater than zero"),
            Expected(line: 10, column: 21, path: "phases[1].logins.from", message: "a rate cannot be negative"),
            Expected(line: 13, column: 15, path: "phases[2].checkins.to", message: "required key is missing"),
            Expected(line: 16, column: 15, path: "phases[3].checkins", message: "above the simulator's limit"),
        ]),
        ("bad-events.yaml", [
            Expected(line: 15, column: 9, path: "events[0].do", message: "kill_server needs server.process: child"),
            Expected(line: 17, column: 9, path: "events[1].do", message: "restart_server at 2s without an earlier kill_server"),
            Expected(line: 20, column: 12, path: "events[2].token", message: "unknown token \"helpdsk\"", suggestion: "did you mean `helpdesk`? (created at 12s, after this revoke)"),
            Expected(line: 26, column: 11, path: "events[4].name", message: "duplicate token name"),
            Expected(line: 29, column: 19, path: "events[5].printers[1]", message: "printer index 3 is out of range"),
            Expected(line: 32, column: 15, path: "events[6].printers", message: "4 printers, but the scenario has only 3"),
            Expected(line: 33, column: 9, path: "events[7].at", message: "after the run ends"),
            Expected(line: 35, column: 5, path: "events[8].version", message: "required key is missing"),
            Expected(line: 39, column: 5, path: "events[9].printers", message: "unknown key `printers`", suggestion: "valid keys: at, do, for"),
        ]),
        ("external-server.yaml", [
            Expected(line: 3, column: 3, path: "server.ca_file", message: "required key is missing"),
            Expected(line: 4, column: 8, path: "server.url", message: "expected an https URL"),
            Expected(line: 5, column: 19, path: "server.admin_key_file", message: "no readable file at"),
            Expected(line: 6, column: 3, path: "server.process", message: "only applies to mode embedded"),
            Expected(line: 15, column: 9, path: "events[0].do", message: "kill_server needs the embedded server"),
        ]),
        ("bad-thresholds.yaml", [
            Expected(line: 9, column: 5, path: "thresholds[0]", message: "unknown metric `chekin.p99`", suggestion: "did you mean `checkin.p99`?"),
            Expected(line: 10, column: 5, path: "thresholds[1]", message: "invalid operator `=<`", suggestion: "did you mean `<=`?"),
            Expected(line: 11, column: 5, path: "thresholds[2]", message: "`5%` is not a valid value for `checkin.p99`"),
            Expected(line: 12, column: 5, path: "thresholds[3]", message: "expected `metric op value`"),
            Expected(line: 13, column: 5, path: "thresholds[4]", message: "invalid operator `~`"),
            Expected(line: 14, column: 61, path: "thresholds[5].optional", message: "expected true or false"),
        ]),
        ("duplicate-phases.yaml", [
            Expected(line: 8, column: 11, path: "phases[1].name", message: "duplicate phase name \"steady\""),
        ]),
        ("duplicate-keys.yaml", [
            Expected(line: 4, column: 1, path: "fleet", message: "duplicate key `fleet`; the first is at line 2"),
        ]),
        ("syntax-error.yaml", [
            Expected(line: 7, column: 13, path: "", message: "YAML syntax error"),
        ]),
        ("not-a-mapping.yaml", [
            Expected(line: 1, column: 1, path: "", message: "the top level must be a mapping"),
        ]),
        ("empty.yaml", [
            Expected(line: 0, column: 0, path: "", message: "the file is empty"),
        ]),
    ]

    @Test(arguments: cases)
    func badFixtureReportsEveryErrorWithItsPosition(_ fixture: String, _ expected: [Expected]) {
        let path = RepositoryPaths.badScenarios.appendingPathComponent(fixture).path
        let result = ScenarioLoader.load(contentsOf: path)
        #expect(result.scenario == nil, "\(fixture) must not load")
        let errors = result.errors
        #expect(errors.count == expected.count, "\(fixture): \(errors.map(\.description).joined(separator: "\n"))")
        for (issue, want) in zip(errors, expected) {
            #expect(issue.file == path)
            #expect(issue.line == want.line && issue.column == want.column, "\(issue) should be at \(want.line):\(want.column)")
            #expect(issue.path == want.path, "\(issue)")
            #expect(issue.message.contains(want.message), "\(issue) should say \(want.message)")
            if let suggestion = want.suggestion {
                #expect(issue.suggestion?.contains(suggestion) == true, "\(issue) should suggest \(suggestion)")
            }
        }
    }

    @Test func descriptionNamesFileLineColumnAndField() throws {
        let result = ScenarioLoader.parse("""
            name: quickstart
            fleet:
              agents: 10
            phases:
              - name: steady
                duration: 10s
                checkins: fast
            """, file: "quickstart.yaml")
        let issue = try #require(result.errors.first)
        #expect(issue.description == "quickstart.yaml:7:15: phases[0].checkins: expected a rate like 20/s, 300/m or 1000/h, got \"fast\"")
    }

    @Test func enumErrorsListTheValidValues() throws {
        let result = ScenarioLoader.parse("""
            name: enums
            topology: lan
            server: { mode: embedded, process: thread }
            fleet: { agents: 5 }
            phases: [{ name: a, duration: 5s, checkins: 1/s }]
            events: [{ at: 1s, do: kil_server }]
            """, file: "enums.yaml")
        #expect(result.errors.count == 3)
        #expect(result.errors[0].suggestion == "valid values: loopback, namespaces")
        #expect(result.errors[1].suggestion == "valid values: child, in_process")
        #expect(result.errors[2].suggestion?.hasPrefix("did you mean `kill_server`? valid values: publish_driver, create_token") == true)
    }

    @Test func missingFileIsAClearIssueNotACrash() {
        let result = ScenarioLoader.load(contentsOf: RepositoryPaths.scenarios.appendingPathComponent("quickstrat.yaml").path)
        #expect(result.scenario == nil)
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.message == "no such file")
        #expect(result.errors.first?.suggestion == "did you mean `quickstart.yaml`?")
        let folder = ScenarioLoader.load(contentsOf: RepositoryPaths.scenarios.path)
        #expect(folder.errors.first?.message.contains("is a directory") == true)
    }

    @Test func requiredTopLevelKeysAreReported() {
        let result = ScenarioLoader.parse("description: nothing else\n", file: "bare.yaml")
        let paths = result.errors.map(\.path)
        #expect(paths.contains("name"))
        #expect(paths.contains("phases"))
    }

    @Test func aPhaseWithoutLoadIsAWarningNotAnError() throws {
        let result = ScenarioLoader.parse("""
            name: idle
            fleet: { agents: 5 }
            phases:
              - name: idle
                duration: 10s
            """)
        #expect(result.errors.isEmpty)
        #expect(result.warnings.count == 1)
        #expect(result.warnings.first?.path == "phases[0]")
        #expect(result.scenario != nil)
    }

    @Test func explicitDurationShorterThanThePhasesIsAnError() {
        let result = ScenarioLoader.parse("""
            name: short
            duration: 20s
            fleet: { agents: 5 }
            phases:
              - { name: a, duration: 30s, checkins: 1/s }
            events:
              - { at: 25s, do: ad_down }
            """)
        #expect(result.errors.map(\.path) == ["duration", "events[0].at"])
        #expect(result.errors.first?.line == 2)
    }

    @Test func killThenRestartAfterThenKillAgainIsFine() throws {
        let result = ScenarioLoader.parse("""
            name: kills
            fleet: { agents: 5 }
            phases:
              - { name: a, duration: 60s, checkins: 1/s }
            events:
              - { at: 10s, do: kill_server, restart_after: 5s }
              - { at: 20s, do: kill_server }
              - { at: 25s, do: restart_server }
              - { at: 26s, do: revoke_token, token: fleet }
            """)
        #expect(result.issues.isEmpty, "\(result.issues)")
        let killedTwice = ScenarioLoader.parse("""
            name: kills
            fleet: { agents: 5 }
            phases:
              - { name: a, duration: 60s, checkins: 1/s }
            events:
              - { at: 10s, do: kill_server }
              - { at: 20s, do: kill_server }
            """)
        #expect(killedTwice.errors.map(\.message) == ["the server is already down at 20s"])
        #expect(killedTwice.errors.first?.line == 7)
    }
}
