import Foundation
import Logging
import Testing

@testable import Sim

/// Whole scenario runs, as `printplane sim run` does them: the real server as a child
/// process, fake printers, the simulated AD, virtual reference agents, the pcap verifier
/// on loopback (CI runs as root), cross-checks and the report.
@Suite(.serialized) struct ScenarioRunTests {
    static func scenario(name: String, extra: String = "", thresholds: [String], placement: String = "lan") -> String {
        """
        name: \(name)
        seed: 11
        server:
          checkin_interval: 30s
        directory:
          users: 40
          groups: 5
        printers:
          count: 2
          protocols: { raw: 1, lpr: 1 }
          placement: \(placement)
        drivers:
          size: 64KB
        fleet:
          agents: 12
          sites: 2
          token:
            expires: 1h
          enroll:
            over: 2s
        phases:
          - name: busy
            duration: 12s
            checkins: 6/s
            logins: 2/s
            print:
              rate: 3/s
              pages: { min: 1, max: 6 }
              documents: { postscript: 1, pdf: 1, pcl: 1 }
        \(extra)
        thresholds:
        \(thresholds.map { "  - \"\($0)\"" }.joined(separator: "\n"))
        """
    }

    static func run(_ text: String) async throws -> RunReport {
        let loaded = ScenarioLoader.parse(text, file: "test.yaml")
        let scenario = try loaded.get()
        let reports = NSTemporaryDirectory() + "printplane-sim-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: reports) }
        let configuration = SimRunConfiguration(
            scenario: scenario, reportDirectory: reports, executablePath: try PcapTestSupport.printplaneBinary(), output: { _ in })
        var logger = Logger(label: "printplane.sim.test")
        logger.logLevel = ProcessInfo.processInfo.environment["PRINTPLANE_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
        let report = await ScenarioRunner(configuration: configuration, logger: logger).run()
        #expect(FileManager.default.fileExists(atPath: reports + "/report.json"))
        #expect(FileManager.default.fileExists(atPath: reports + "/report.html"))
        return report
    }

    @Test func aSmallScenarioPassesWithAServerKillAndADriverStorm() async throws {
        let report = try await Self.run(Self.scenario(
            name: "ci-small",
            extra: """
            events:
              - at: 4s
                do: publish_driver
                version: "2.0"
                size: 128KB
              - at: 7s
                do: kill_server
                restart_after: 1s
            """,
            thresholds: [
                "metadata.lost == 0", "metadata.duplicated == 0", "crosscheck.jobs_mismatch == 0", "crosscheck.pages_mismatch == 0",
                "crosscheck.users_mismatch == 0", "tokens.expired_accepted == 0", "pcap.print_packets_to_cloud == 0", "pcap.non_tls_to_cloud == 0",
                "enroll.errors == 0",
            ]))
        #expect(report.runError == nil, "\(report.runError ?? "")")
        #expect(report.exitCode == .passed, "\(report.thresholds.filter { !$0.isSuccess })")
        let metrics = report.metrics
        #expect(metrics["agents.enrolled"] == 12)
        #expect((metrics["jobs.printed"] ?? 0) > 0)
        #expect(metrics["crosscheck.server_jobs"] == metrics["crosscheck.agent_jobs"])
        #expect((metrics["pcap.packets.agent_printer"] ?? 0) > 0)
        #expect((metrics["pcap.packets.agent_server"] ?? 0) > 0)
        #expect((metrics["login.count"] ?? 0) > 0)
        #expect(report.notes.contains { $0.contains("SIGKILL") })
    }

    /// `drivers.cache: per_site`: one real cache per site, enrolled, registered for the site's
    /// range, certified by the control plane's CA. Every agent installs from its site's cache;
    /// each package crosses to the cloud once per site, also one published mid-run.
    @Test func perSiteCachesServeEveryAgentAndFetchEachPackageOncePerSite() async throws {
        let text = Self.scenario(
            name: "ci-caches",
            extra: """
            events:
              - at: 5s
                do: publish_driver
                version: "2.0"
                size: 512KB
            """,
            thresholds: ["driver.bytes_from_cloud == 0", "cache.upstream_fetches == 4", "cache.verification_failures == 0", "metadata.lost == 0"]
        ).replacingOccurrences(of: "  size: 64KB\n", with: "  size: 256KB\n  cache: per_site\n")
        let report = try await Self.run(text)
        #expect(report.runError == nil, "\(report.runError ?? "")")
        #expect(report.exitCode == .passed, "\(report.thresholds.filter { !$0.isSuccess }) \(report.notes)")
        let metrics = report.metrics
        #expect(metrics["agents.enrolled"] == 12)
        // Every agent took the first driver from its cache, and the second came from it too for
        // each agent that got it (at least those counted as converged: one may install it on
        // a check-in that also failed something, which is not counted as converged).
        let fromCache = metrics["driver.bytes_from_cache"] ?? 0
        #expect(metrics["cache.bytes_served"] == fromCache, "what the caches sent is what the agents installed")
        let secondDrivers = (fromCache - Double(12 * 256 * 1024)) / Double(512 * 1024)
        let converged = metrics["driver.converged_agents"] ?? 0
        #expect(converged > 0)
        #expect(secondDrivers == secondDrivers.rounded() && secondDrivers >= converged && secondDrivers <= 12, "\(fromCache) bytes from the caches")
        // The caches together fetched each package once per site (2 sites).
        #expect(metrics["cache.upstream_bytes"] == Double(2 * (256 + 512) * 1024))
        #expect(report.notes.contains { $0.contains("LAN driver caches (2, one per site)") })
    }

    /// 20 check-ins, 2 logins and 3 prints a second over 25 agents: with one round-robin
    /// cursor for every kind of arrival the same 3 agents got every print and never a
    /// check-in, so they never saw the new driver. Each kind now has its own.
    @Test func everyAgentChecksInWhateverTheOtherArrivalRates() async throws {
        let text = """
            name: ci-aliasing
            seed: 5
            server: { checkin_interval: 30s }
            directory: { enabled: false }
            printers: { count: 2, protocols: { raw: 1 } }
            drivers: { size: 16KB }
            fleet: { agents: 25, sites: 1, token: { expires: 1h }, enroll: { over: 2s } }
            phases:
              - name: steady
                duration: 14s
                checkins: 20/s
                logins: 2/s
                print: { rate: 3/s, pages: { min: 1, max: 2 }, documents: { postscript: 1 } }
            events:
              - { at: 4s, do: publish_driver, version: "2.0", size: 16KB }
            thresholds:
              - "driver.converged_agents == 25"
            """
        let report = try await Self.run(text)
        #expect(report.runError == nil, "\(report.runError ?? "")")
        #expect(report.metrics["driver.converged_agents"] == 25)
        #expect(report.exitCode == .passed)
    }

    @Test func anImpossibleThresholdExitsWithTheThresholdCode() async throws {
        let report = try await Self.run(Self.scenario(name: "ci-impossible", thresholds: ["checkin.p99 < 0.001ms", "metadata.lost == 0"]))
        #expect(report.runError == nil)
        #expect(report.exitCode == .thresholdFailed)
        #expect(report.thresholds.first { $0.threshold.metric == "checkin.p99" }?.isSuccess == false)
    }

    @Test func printersOnTheServersAddressFailThePcapThreshold() async throws {
        let report = try await Self.run(Self.scenario(name: "ci-misplaced", thresholds: ["pcap.print_packets_to_cloud == 0"], placement: "on_server"))
        #expect(report.runError == nil, "\(report.runError ?? "")")
        #expect((report.metrics["pcap.print_packets_to_cloud"] ?? 0) > 0)
        #expect(report.exitCode == .thresholdFailed)
    }

    @Test func enrollmentsAfterTheTokenExpiresAreRefused() async throws {
        let text = """
            name: ci-token-expiry
            seed: 3
            directory:
              enabled: false
            printers:
              count: 1
            fleet:
              agents: 16
              token:
                expires: 10s
              enroll:
                over: 16s
            phases:
              - name: enroll
                duration: 17s
                checkins: 2/s
            thresholds:
              - "tokens.expired_accepted == 0"
              - "tokens.valid_refused == 0"
              - "enroll.refused_expired > 0"
              - "enroll.accepted > 0"
            """
        let report = try await Self.run(text)
        #expect(report.runError == nil, "\(report.runError ?? "")")
        #expect(report.exitCode == .passed, "\(report.thresholds.filter { !$0.isSuccess })")
        let accepted = report.metrics["enroll.accepted"] ?? 0
        let expired = report.metrics["enroll.refused_expired"] ?? 0
        #expect(accepted + expired == 16)
        #expect(report.errorsByReason["enroll"]?["token_expired"] == Int(expired))
    }

    @Test func heldJobsAreReleasedAtRandomPrintersAndPrintedOnce() async throws {
        let text = """
            name: ci-pull-printing
            seed: 5
            directory:
              enabled: false
            printers:
              count: 2
              protocols: { raw: 1, lpr: 1 }
            drivers:
              size: 16KB
            fleet:
              agents: 6
              token:
                expires: 1h
              enroll:
                over: 1s
            phases:
              - name: hold
                duration: 5s
                print:
                  rate: 2/s
                  pages: { min: 1, max: 4 }
                  hold: 1
              - name: release
                duration: 6s
                release: 1/s
            thresholds:
              - "jobs.held >= 8"
              - "release.count >= 5"
              - "release.errors == 0"
              - "release.p99 < 3s"
              - "metadata.lost == 0"
              - "metadata.duplicated == 0"
              - "crosscheck.jobs_mismatch == 0"
              - "crosscheck.pages_mismatch == 0"
              - "crosscheck.users_mismatch == 0"
              - "pcap.print_packets_to_cloud == 0"
            """
        let report = try await Self.run(text)
        #expect(report.runError == nil, "\(report.runError ?? "")")
        #expect(report.exitCode == .passed, "\(report.thresholds.filter { !$0.isSuccess })")
        let metrics = report.metrics
        #expect(metrics["jobs.released"] == metrics["release.count"])
        #expect(metrics["jobs.printed"] == metrics["jobs.released"], "only released jobs were printed")
        #expect(metrics["crosscheck.printer_jobs"] == metrics["jobs.released"], "each released job reached a printer once")
        #expect(metrics["crosscheck.server_jobs"] == metrics["jobs.released"], "and the server recorded it once")
    }
}

/// Topology mode through the real CLI (it re-runs itself inside the lan namespace): the
/// server sits in the `cloud` namespace, agents, printers and AD in `lan`, and the capture
/// is on the WAN link. Needs root, as CI is.
@Suite(.serialized) struct TopologyScenarioTests {
    @Test func aNamespaceRunKeepsPrintTrafficOffTheWAN() async throws {
        let directory = NSTemporaryDirectory() + "printplane-ns-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let scenario = ScenarioRunTests.scenario(
            name: "ci-namespaces", thresholds: ["pcap.print_packets_to_cloud == 0", "pcap.non_tls_to_cloud == 0", "metadata.lost == 0", "crosscheck.jobs_mismatch == 0"]
        ).replacingOccurrences(of: "seed: 11\n", with: "seed: 11\ntopology: namespaces\n")
        try scenario.write(toFile: directory + "/ns.yaml", atomically: true, encoding: .utf8)
        let before = try await NetworkTopology.namespaces()
        let run = try await ChildProcess.run(try PcapTestSupport.printplaneBinary(), ["sim", "run", directory + "/ns.yaml", "--report-dir", directory + "/report"], timeout: 120)
        #expect(run.status == 0, "\(run.output.suffix(2000))")
        let report = try RunReport.read(from: URL(fileURLWithPath: directory + "/report/report.json"))
        #expect(report.exitCode == .passed)
        #expect(report.metrics["pcap.print_packets_to_cloud"] == 0)
        // Agent↔server traffic crossed the WAN; print traffic stayed on the LAN.
        #expect((report.metrics["pcap.wan_bytes.agent_server"] ?? 0) > 10_000)
        #expect(report.metrics["pcap.wan_bytes.agent_printer"] == 0)
        #expect((report.metrics["jobs.printed"] ?? 0) > 0)
        // Nothing is left behind. Only the simulator's own namespaces (`pp-sim…`) count:
        // NetworkTopologyTests make and remove theirs (`pp-t…`) concurrently.
        let after = try await NetworkTopology.namespaces()
        let leftBehind = Set(after).subtracting(before).filter { $0.hasPrefix("pp-sim") }
        #expect(leftBehind.isEmpty, "left behind: \(leftBehind)")
    }

    /// What the LAN caches save on the WAN, measured on the captured WAN link itself. In this
    /// serialized suite, so no other namespace run overlaps the leftover check above.
    @Test func perSiteCachesCarryEachDriverAcrossTheWANOncePerSite() async throws {
        let directory = NSTemporaryDirectory() + "printplane-ns-cache-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let scenario = ScenarioRunTests.scenario(
            name: "ci-namespaces-caches", thresholds: ["pcap.print_packets_to_cloud == 0", "driver.bytes_from_cloud == 0", "cache.upstream_fetches == 2"]
        )
        .replacingOccurrences(of: "seed: 11\n", with: "seed: 11\ntopology: namespaces\n")
        .replacingOccurrences(of: "  size: 64KB\n", with: "  size: 2MB\n  cache: per_site\n")
        try scenario.write(toFile: directory + "/ns.yaml", atomically: true, encoding: .utf8)
        let run = try await ChildProcess.run(try PcapTestSupport.printplaneBinary(), ["sim", "run", directory + "/ns.yaml", "--report-dir", directory + "/report"], timeout: 150)
        #expect(run.status == 0, "\(run.output.suffix(2000))")
        let report = try RunReport.read(from: URL(fileURLWithPath: directory + "/report/report.json"))
        #expect(report.exitCode == .passed, "\(report.thresholds.filter { !$0.isSuccess })")
        let metrics = report.metrics
        let driver = Double(2 * 1024 * 1024)
        #expect(metrics["driver.bytes_from_cache"] == 12 * driver, "twelve agents installed from the caches")
        // Across the WAN: the two caches' fetches (one per site) and the fleet's small API
        // calls, far below the 24 MB the agents installed.
        let wan = metrics["pcap.wan_bytes.agent_server"] ?? 0
        #expect(wan > 2 * driver, "the caches' two fetches crossed the WAN (\(wan) bytes)")
        #expect(wan < 6 * driver, "the agents' twelve downloads did not (\(wan) bytes on the WAN)")
    }
}

/// `server: { mode: external }`: a deployment the user already runs, given by URL, admin
/// key and CA. The same scenario must run against it more than once.
@Suite(.serialized) struct ExternalServerScenarioTests {
    @Test func aScenarioRunsTwiceAgainstAnExternalServer() async throws {
        let directory = NSTemporaryDirectory() + "printplane-external-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/server", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = SimControlPlane(
            mode: .child(.init(executable: try PcapTestSupport.printplaneBinary(), dataDirectory: directory + "/server", host: "127.0.0.1", checkInInterval: 60, maxDownloads: 64)),
            logger: Logger(label: "printplane.sim.test"))
        try await server.start()
        let url = await server.url
        let text = """
            name: ci-external
            server:
              mode: external
              url: \(url.replacingOccurrences(of: "127.0.0.1", with: "localhost"))
              admin_key_file: \(directory)/server/admin.key
              ca_file: \(directory)/server/ca.pem
            directory:
              enabled: false
            printers:
              count: 1
            fleet:
              agents: 4
              enroll:
                over: 1s
            phases:
              - name: p
                duration: 4s
                checkins: 2/s
                print:
                  rate: 1/s
                  pages: { min: 1, max: 3 }
                  documents: { postscript: 1 }
            thresholds:
              - "metadata.lost == 0"
              - "crosscheck.jobs_mismatch == 0"
              - "pcap.print_packets_to_cloud == 0"
            """
        for _ in 0..<2 {
            let report = try await ScenarioRunTests.run(text)
            #expect(report.runError == nil, "\(report.runError ?? "")")
            #expect(report.exitCode == .passed, "\(report.thresholds.filter { !$0.isSuccess })")
            #expect((report.metrics["pcap.packets.agent_server"] ?? 0) > 0)
        }
        await server.stop()
    }
}
