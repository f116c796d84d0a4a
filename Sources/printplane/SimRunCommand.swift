import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Sim

extension SimCommand {
    /// `printplane sim run`: the main job.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a scenario against the real server; exit 0 only if every threshold holds.",
            discussion: """
                Starts what the scenario embeds (the server as a child process with SQLite in a
                temporary directory, fake printers on 127.20.N.x, the simulated AD on 127.30.N.1,
                N leased per run so runs side by side never collide),
                runs thousands of virtual agents (the reference agent's own code) through the
                phases and events, cross-checks what the server, the printers and the agents saw,
                and writes report.json and a self-contained report.html.

                Progress is a live line on a terminal and a plain line every 10 s otherwise.

                Exit codes: 0 every threshold held; 1 a threshold failed; 2 the scenario is
                invalid (nothing ran); 3 the run could not complete.

                Examples:
                  printplane sim run scenarios/quickstart.yaml
                  printplane sim run scenarios/driver-storm.yaml --report-dir ./storm-report
                  printplane sim run my.yaml || echo "thresholds failed: see the report"
                """)

        @Argument(help: "The scenario file (see docs/scenarios.md; check it with `printplane sim validate`).")
        var scenario: String

        @Option(name: .customLong("report-dir"), help: "Where report.json and report.html go (default: ./sim-reports/<scenario name>).")
        var reportDirectory: String?

        @Option(name: .customLong("work-dir"), help: "Keep the embedded server's data here instead of a temporary directory.")
        var workDirectory: String?

        @Option(name: .customLong("pcap-out"), help: "Also write the captured packets to this pcap file.")
        var pcapOut: String?

        @Option(name: .customLong("max-in-flight"), help: "Operations in flight at once; arrivals beyond are counted as dropped.")
        var maxInFlight: Int = 4_000

        @Option(name: .customLong("http-connections"), help: "Connections the fleet's shared HTTPS pool may open to the server.")
        var httpConnections: Int = 64

        @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (logs go to stderr).")
        var logLevel: Logger.Level = .warning

        @Option(name: .customLong("inside-topology"), help: .hidden)
        var insideTopology: String?

        func run() async throws {
            let result = ScenarioLoader.load(contentsOf: self.scenario)
            for issue in result.issues { FileHandle.standardError.write(Data((issue.description + "\n").utf8)) }
            guard let scenario = result.scenario else {
                FileHandle.standardError.write(Data("\(self.scenario): invalid; nothing was run\n".utf8))
                throw ExitCode(SimExitCode.invalidScenario.rawValue)
            }
            let logger = makeLogger(label: "printplane.sim", level: self.logLevel)
            if scenario.topology == .namespaces, self.insideTopology == nil {
                var forwarded = [
                    "--report-dir", self.reportDirectory ?? "sim-reports/\(scenario.name)", "--max-in-flight", String(self.maxInFlight),
                    "--http-connections", String(self.httpConnections), "--log-level", self.logLevel.rawValue,
                ]
                if let workDirectory { forwarded += ["--work-dir", workDirectory] }
                if let pcapOut { forwarded += ["--pcap-out", pcapOut] }
                let status = await TopologyLauncher.run(scenarioPath: self.scenario, executable: Self.executablePath(), forwardedArguments: forwarded, logger: logger)
                if status != 0 { throw ExitCode(status) }
                return
            }
            var configuration = SimRunConfiguration(
                scenario: scenario, reportDirectory: self.reportDirectory ?? "sim-reports/\(scenario.name)",
                executablePath: Self.executablePath(), isTTY: isatty(STDOUT_FILENO) != 0)
            configuration.workDirectory = self.workDirectory
            configuration.pcapOutput = self.pcapOut
            configuration.maxInFlight = max(1, self.maxInFlight)
            configuration.topologyRunID = self.insideTopology
            configuration.httpConnections = max(1, self.httpConnections)
            let service = SimRunService(runner: ScenarioRunner(configuration: configuration, logger: logger))
            // The run ends by itself: that is success, not a service dying.
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            guard let report = service.report else { throw ExitCode(SimExitCode.runError.rawValue) }
            let code = report.exitCode
            if code != .passed { throw ExitCode(code.rawValue) }
        }

        /// This very binary, to start the embedded server as a child.
        static func executablePath() -> String {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        }
    }
}
