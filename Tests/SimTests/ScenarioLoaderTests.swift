import Foundation
import Sim
import Testing

/// Paths of the repository, found from this file so tests run from any working directory.
enum RepositoryPaths {
    static let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let root = testsFolder.deletingLastPathComponent().deletingLastPathComponent()
    static let scenarios = root.appendingPathComponent("scenarios")
    static let badScenarios = testsFolder.appendingPathComponent("Fixtures/scenarios")
}

@Suite struct ScenarioLoaderTests {
    static let full = """
        name: full-example
        description: "every key"
        seed: 42
        duration: 5m
        topology: namespaces
        server:
          mode: embedded
          process: child
          checkin_interval: 60s
          max_concurrent_downloads: 64
        directory:
          enabled: true
          users: 300
          groups: 30
          computers: 120
          seed: 9
        printers:
          count: 5
          protocols: { raw: 3, lpr: 2 }
          slow_fraction: 0.2
        drivers:
          name: Generic PCL6
          version: "1.0"
          size: 512KB
        fleet:
          agents: 100
          sites: 4
          users_per_agent: 2
          token:
            expires: 30m
            max_uses: 150
          enroll:
            start: 2s
            over: 20s
        phases:
          - name: warmup
            duration: 20s
            checkins: { from: 0/s, to: 50/s }
          - name: steady
            duration: 1m
            checkins: 300/m
            logins: 1000/h
            print:
              rate: { from: 1/s, to: 5/s }
              pages: { 1: 5, 3: 3, 10: 1 }
              documents: { postscript: 2, pdf: 2, pcl: 1 }
              copies: 2
              hold: 0.25
          - name: per-user
            duration: 30s
            print:
              jobs_per_user_hour: 30
              pages: { min: 1, max: 10 }
        events:
          - at: 40s
            do: kill_server
            restart_after: 5s
          - at: 20s
            do: publish_driver
            version: "2.0"
            size: 20MB
          - at: 10s
            do: create_token
            name: late
            expires: 15s
          - at: 12s
            do: revoke_token
            token: late
          - at: 5s
            do: printer_offline
            printers: [0, 3]
            for: 10s
          - at: 6s
            do: ad_down
            for: 10s
          - at: 30s
            do: publish_driver
            version: "3.0"
          - at: 50s
            do: network_cut
            for: 2s
          - at: 60s
            do: printer_online
            printers: 2
        thresholds:
          - "checkin.p99 < 200ms"
          - "metadata.lost == 0"
          - "driver_download.error_rate <= 5%"
          - { metric: pcap.print_packets_to_cloud, op: "==", value: 0, optional: true }
        """

    @Test func fullScenarioLoadsWithEveryValue() throws {
        let result = ScenarioLoader.parse(Self.full, file: "full.yaml")
        #expect(result.issues.isEmpty, "\(result.issues)")
        let scenario = try result.get()
        #expect(scenario.name == "full-example")
        #expect(scenario.description == "every key")
        #expect(scenario.seed == 42)
        #expect(scenario.duration == .seconds(300))
        #expect(scenario.topology == .namespaces)
        #expect(scenario.server == .embedded(.init(process: .child, checkinInterval: .seconds(60), maxConcurrentDownloads: 64)))
        #expect(scenario.directory == Scenario.Directory(enabled: true, users: 300, groups: 30, computers: 120, seed: 9))
        #expect(scenario.printers.count == 5)
        #expect(scenario.printers.protocols == [.raw: 3, .lpr: 2])
        #expect(scenario.printers.slowFraction == 0.2)
        #expect(scenario.printers.protocolAssignment().filter { $0 == .raw }.count == 3)
        #expect(scenario.drivers == Scenario.Drivers(name: "Generic PCL6", version: "1.0", size: 512 * 1024))
        #expect(scenario.fleet.agents == 100 && scenario.fleet.sites == 4 && scenario.fleet.usersPerAgent == 2)
        #expect(scenario.fleet.token == .init(expires: .after(.seconds(1800)), maxUses: 150))
        #expect(scenario.fleet.enroll.start == .seconds(2) && scenario.fleet.enroll.over == .seconds(20))
        #expect(scenario.fleet.enroll.intendedTime(ofAgent: 50, of: 100) == .seconds(12))

        #expect(scenario.phases.map(\.name) == ["warmup", "steady", "per-user"])
        #expect(scenario.phases.map(\.start) == [.zero, .seconds(20), .seconds(80)])
        #expect(scenario.phases[0].checkins == .ramp(from: .zero, to: Rate(perSecond: 50)))
        #expect(scenario.phases[1].checkins == .constant(Rate(perSecond: 5)))
        let logins = try #require(scenario.phases[1].logins?.initial.perSecond)
        #expect(abs(logins - 1000.0 / 3600) < 1e-12)
        let print = try #require(scenario.phases[1].print)
        #expect(print.arrival == .rate(.ramp(from: Rate(perSecond: 1), to: Rate(perSecond: 5))))
        #expect(print.pages == .weighted([1: 5, 3: 3, 10: 1]))
        #expect(print.documents == [.postscript: 2, .pdf: 2, .pcl: 1])
        #expect(print.copies == 2 && print.hold == 0.25)
        let perUser = try #require(scenario.phases[2].print)
        #expect(perUser.arrival == .perUserHour(30))
        #expect(perUser.rate(loggedInUsers: 120) == .constant(Rate(perSecond: 1)))
        #expect(perUser.pages == .uniform(min: 1, max: 10))

        // Sorted by time; publish_driver without size takes drivers.size.
        #expect(scenario.events.map(\.at) == [5, 6, 10, 12, 20, 30, 40, 50, 60].map { Duration.seconds($0) })
        #expect(scenario.events[0].action == .printerOffline(.indices([0, 3]), for: .seconds(10)))
        #expect(scenario.events[0].line == 69)
        #expect(scenario.events[2].action == .createToken(name: "late", expires: .after(.seconds(15)), maxUses: nil))
        #expect(scenario.events[3].action == .revokeToken(name: "late"))
        #expect(scenario.events[4].action == .publishDriver(version: "2.0", size: 20 * 1024 * 1024))
        #expect(scenario.events[5].action == .publishDriver(version: "3.0", size: 512 * 1024))
        #expect(scenario.events[6].action == .killServer(restartAfter: .seconds(5)))
        #expect(scenario.events[8].action == .printerOnline(.first(2)))

        #expect(scenario.thresholds.count == 4)
        #expect(scenario.thresholds[0] == Threshold(metric: "checkin.p99", op: .lessThan, value: 200, valueText: "200ms"))
        #expect(scenario.thresholds[2].value == 0.05)
        #expect(scenario.thresholds[3].optional)
    }

    @Test func defaultsApplyToAMinimalScenario() throws {
        let scenario = try ScenarioLoader.parse("""
            name: tiny
            fleet:
              agents: 20
            phases:
              - name: only
                duration: 40s
                checkins: 2/s
            """).get()
        #expect(scenario.seed == 1)
        #expect(scenario.duration == .seconds(70))  // phases + 30 s drain
        #expect(scenario.topology == .loopback)
        #expect(scenario.server == .embedded(.init(process: .child, checkinInterval: .seconds(300), maxConcurrentDownloads: 256)))
        #expect(scenario.directory.users == 200 && scenario.directory.computers == 20 && scenario.directory.seed == 1)
        #expect(scenario.directory.enabled)
        #expect(scenario.printers.count == 1)
        #expect(scenario.fleet.sites == 1 && scenario.fleet.usersPerAgent == 1)
        #expect(scenario.events.isEmpty && scenario.thresholds.isEmpty)
    }

    @Test func everyShippedScenarioIsValid() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: RepositoryPaths.scenarios.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(names == ["branch-offices.yaml", "driver-storm.yaml", "metadata-reporting.yaml", "monday-morning.yaml", "quickstart.yaml", "token-expiry.yaml"])
        for name in names {
            let result = ScenarioLoader.load(contentsOf: RepositoryPaths.scenarios.appendingPathComponent(name).path)
            #expect(result.issues.isEmpty, "\(name): \(result.issues.map(\.description))")
            #expect(result.scenario?.name == String(name.dropLast(5)))
        }
        let branches = try ScenarioLoader.load(contentsOf: RepositoryPaths.scenarios.appendingPathComponent("branch-offices.yaml").path).get()
        #expect(branches.drivers.cache == .perSite && branches.topology == .namespaces)
    }

    @Test func driversCacheAcceptsItsChoicesAndNamesThemOnATypo() throws {
        let base = "name: c\nfleet: { agents: 1 }\nphases: [{ name: p, duration: 1s, checkins: 1/s }]\n"
        #expect(try ScenarioLoader.parse(base, file: "c.yaml").get().drivers.cache == Scenario.DriverCaches.none)
        #expect(try ScenarioLoader.parse(base + "drivers: { cache: per_site }\n", file: "c.yaml").get().drivers.cache == .perSite)
        let typo = ScenarioLoader.parse(base + "drivers: { cache: per-site }\n", file: "c.yaml")
        let text = typo.issues.map(\.description).joined(separator: "\n")
        #expect(typo.scenario == nil)
        #expect(text.contains("drivers.cache") && text.contains("per_site"), "\(text)")
    }

    @Test func shippedScenariosDeclareWhatTheIssueAsksFor() throws {
        func load(_ name: String) throws -> Scenario {
            try ScenarioLoader.load(contentsOf: RepositoryPaths.scenarios.appendingPathComponent(name).path).get()
        }
        let quickstart = try load("quickstart.yaml")
        #expect(quickstart.fleet.agents == 50 && quickstart.printers.count == 4)
        #expect(quickstart.phasesEnd == .seconds(40))
        #expect(quickstart.duration < .seconds(90))
        for metric in ["checkin.p99", "metadata.lost", "metadata.duplicated", "crosscheck.jobs_mismatch", "crosscheck.pages_mismatch",
                       "crosscheck.users_mismatch", "tokens.expired_accepted"] {
            #expect(quickstart.thresholds.contains { $0.metric == metric && !$0.optional }, "quickstart lacks \(metric)")
        }
        #expect(quickstart.thresholds.contains { $0.metric == "pcap.print_packets_to_cloud" && $0.optional })

        let storm = try load("driver-storm.yaml")
        #expect(storm.fleet.agents == 5000)
        #expect(storm.events.contains { $0.action == .publishDriver(version: "2.0", size: 20 * 1024 * 1024) })

        let metadata = try load("metadata-reporting.yaml")
        #expect(metadata.events.contains { if case .killServer(restartAfter: .some) = $0.action { true } else { false } })
        #expect(metadata.server == .embedded(.init(process: .child, checkinInterval: .seconds(20))))

        let monday = try load("monday-morning.yaml")
        #expect(monday.fleet.agents == 10_000)
        #expect(monday.phases.contains { if case .ramp = $0.logins { true } else { false } })

        let expiry = try load("token-expiry.yaml")
        guard case .after(let lifetime) = expiry.fleet.token.expires else {
            Issue.record("token-expiry.yaml's fleet token must expire")
            return
        }
        #expect(expiry.fleet.enroll.start < lifetime && expiry.fleet.enroll.start + expiry.fleet.enroll.over > lifetime)
    }

    @Test func unitsParse() {
        #expect(ScenarioUnits.duration("250ms") == .milliseconds(250))
        #expect(ScenarioUnits.duration("1.5s") == .milliseconds(1500))
        #expect(ScenarioUnits.duration("5m") == .seconds(300))
        #expect(ScenarioUnits.duration("1h") == .seconds(3600))
        #expect(ScenarioUnits.duration("10") == nil)
        #expect(ScenarioUnits.duration("ten s") == nil)
        // A value that would overflow a Duration is "not a duration", never a crash (the
        // damaged-file property test found "at: 4444444444444s"-style values trapping).
        #expect(ScenarioUnits.duration("99999999999999999999s") == nil)
        #expect(ScenarioUnits.duration("-99999999999h") == nil)
        #expect(ScenarioUnits.size("512KB") == 524_288)
        #expect(ScenarioUnits.size("20MB") == 20_971_520)
        #expect(ScenarioUnits.size("2GB") == 2_147_483_648)
        #expect(ScenarioUnits.size("big") == nil)
        #expect(ScenarioUnits.rate("20/s") == Rate(perSecond: 20))
        #expect(ScenarioUnits.rate("300/m") == Rate(perSecond: 5))
        #expect(ScenarioUnits.rate("3600/h") == Rate(perSecond: 1))
        #expect(ScenarioUnits.rate("20/ms") == nil)
        #expect(ScenarioUnits.rate("20") == nil)
        #expect(ScenarioUnits.format(.seconds(90)) == "90s")
        #expect(ScenarioUnits.format(.seconds(120)) == "2m")
        #expect(ScenarioUnits.format(.milliseconds(250)) == "250ms")
    }
}
