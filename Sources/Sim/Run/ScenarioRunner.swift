import AsyncHTTPClient
import FakePrinter
import Foundation
import LDAP
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PrintplaneAgent
import PrintplaneCore
import PrintplaneServer
import ServiceLifecycle

/// Runs one scenario against the real reference server: a virtual fleet of reference
/// agents (DESIGN.md §1, principle 1), fake printers over real TCP, and the simulated AD;
/// open-model arrivals with latency from the intended start; timed events; cross-checks;
/// and a report whose thresholds decide the exit code.
public struct ScenarioRunner: Sendable {
    /// Addresses on 127/8 kept apart so traffic classes can be told apart by address.
    /// The server, printers and AD get their own 127/8 subnets, with the third octet leased
    /// per run (``SubnetLease``), so two runs on one machine (or a run beside the test
    /// suite) neither collide on ports nor see each other's packets in the capture.
    let serverHost: String
    let directoryHost: String
    let printerHost: String
    /// Held for as long as the runner lives.
    private let subnet: SubnetLease

    let configuration: SimRunConfiguration
    let logger: Logger
    var scenario: Scenario { self.configuration.scenario }

    public init(configuration: SimRunConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.subnet = SubnetLease.acquire()
        let subnet = self.subnet.octet
        self.serverHost = configuration.topologyRunID == nil ? "127.10.\(subnet).1" : NetworkTopology.serverAddress.description
        self.printerHost = "127.20.\(subnet).1"
        self.directoryHost = "127.30.\(subnet).1"
    }

    /// Runs the scenario and writes the report. A run that cannot be carried out ends with
    /// `runError` set (exit code 3), never with a pass.
    public func run() async -> RunReport {
        let startedAt = Date()
        let recorder = MetricsRecorder()
        var notes = [String]()
        var runError: String?
        do {
            notes += try await self.execute(recorder: recorder)
        } catch {
            runError = Task.isCancelled ? "interrupted (SIGINT or SIGTERM) before the scenario ended" : "\(error)"
            self.logger.error("the run failed", metadata: ["printplane.error": "\(error)"])
        }
        if Task.isCancelled, runError == nil {
            runError = "interrupted (SIGINT or SIGTERM) before the scenario ended; the figures cover the part that ran"
        }
        let report = RunReport.make(scenario: self.scenario, recorder: recorder, startedAt: startedAt, runError: runError, notes: notes)
        do {
            let files = try report.write(to: URL(fileURLWithPath: self.configuration.reportDirectory))
            self.configuration.output(ConsoleSummary.render(report) + "\nreport: \(files.json.path)\n        \(files.html.path)\n")
        } catch {
            self.configuration.output(ConsoleSummary.render(report) + "\ncould not write the report: \(error)\n")
        }
        return report
    }

    // MARK: The run

    private func execute(recorder: MetricsRecorder) async throws -> [String] {
        let scenario = self.scenario
        let runID = self.configuration.topologyRunID
        if scenario.topology == .namespaces, runID == nil {
            throw SimRunError("topology: namespaces is run through TopologyLauncher (`printplane sim run` does this), which puts this process in the lan namespace")
        }
        if runID == nil, scenario.events.contains(where: { if case .networkCut = $0.action { return true } else { return false } }) {
            throw SimRunError("network_cut needs topology: namespaces")
        }
        let work = self.configuration.workDirectory ?? (NSTemporaryDirectory() + "printplane-sim-" + UUID().uuidString)
        try FileManager.default.createDirectory(atPath: work + "/server", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work + "/printers", withIntermediateDirectories: true)
        defer { if self.configuration.workDirectory == nil { try? FileManager.default.removeItem(atPath: work) } }

        // The control plane.
        let controlPlane: SimControlPlane
        switch scenario.server {
        case .embedded(let embedded):
            controlPlane = SimControlPlane(
                mode: .child(.init(
                    executable: self.configuration.executablePath, dataDirectory: work + "/server", host: self.serverHost,
                    checkInInterval: max(1, Int(embedded.checkinInterval.components.seconds)), maxDownloads: embedded.maxConcurrentDownloads,
                    namespace: runID.map { NetworkTopology.namespace(runID: $0, suffix: "cloud") })),
                logger: self.logger)
        case .external(let external):
            let key = try String(contentsOfFile: external.adminKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            controlPlane = SimControlPlane(mode: .external(url: external.url, adminKey: key, caPEM: try String(contentsOfFile: external.caFile, encoding: .utf8)), logger: self.logger)
        }
        self.configuration.output("starting: server, \(scenario.printers.count) printers\(scenario.directory.enabled ? ", simulated AD (\(scenario.directory.users) users)" : ""), \(scenario.fleet.agents) agents\n")
        try await controlPlane.start()

        // Fake printers and the simulated AD, as services for the length of the run.
        let isRoot = geteuid() == 0
        var printerLogger = self.logger
        printerLogger.logLevel = .error
        let printerHost = scenario.printers.placement == .onServer ? self.serverHost : self.printerHost
        let lpdPort = isRoot ? 515 : 10515
        let printers = try FakePrinterService(
            configuration: FakePrinterConfiguration(
                host: printerHost, count: scenario.printers.count, rawPort: 9100, lpdPort: lpdPort, httpPort: nil,
                spoolDirectory: work + "/printers", keepDocumentBytes: false),
            logger: printerLogger)
        var services: [any Service] = [printers]
        var directoryServer: SimulatedADServer?
        if scenario.directory.enabled {
            let ad = try SimulatedADServer(
                configuration: SimulatedADConfiguration(
                    host: self.directoryHost, port: 0, startTLS: false, certificate: .generated(hostnames: [self.directoryHost]),
                    directory: .init(seed: scenario.directory.seed, users: scenario.directory.users, groups: scenario.directory.groups, computers: scenario.directory.computers)),
                logger: printerLogger)
            directoryServer = ad
            services.append(ad)
        }
        let progress = ProgressReporter(
            recorder: recorder, scenario: scenario.name, totalSeconds: Self.seconds(scenario.phasesEnd), agents: scenario.fleet.agents,
            isTTY: self.configuration.isTTY, output: self.configuration.output)
        let group = ServiceGroup(configuration: .init(services: services, logger: printerLogger))

        var notes = [String]()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let endpoints = try await Self.endpoints(of: printers, host: printerHost)
                let adPort = try await directoryServer?.listeningAddresses().ldapPort
                try await Self.slowDown(printers, fraction: scenario.printers.slowFraction)
                // The wire proof: capture on loopback for the whole run, classes told apart
                // by address (server 127.10.N.1, printers 127.20.N.x, AD 127.30.N.1).
                // The cloud as the agents reach it: the embedded server's address, or the
                // external server's (resolved, so a host name works too).
                let cloudHost = await controlPlane.host
                let cloudPort = await controlPlane.serverPort
                guard let cloudAddress = IPAddress(cloudHost)
                    ?? (try? SocketAddress.makeAddressResolvingHost(cloudHost, port: cloudPort)).flatMap({ $0.ipAddress }).flatMap({ IPAddress($0) })
                else { throw SimRunError("cannot resolve the server's host \(cloudHost)") }
                let external = { if case .external = scenario.server { return true } else { return false } }()
                let classifier = PacketClassifier(
                    serverAddresses: [cloudAddress], serverPorts: [UInt16(cloudPort)],
                    printerAddresses: Set(endpoints.printers.compactMap { IPAddress($0.address) }),
                    printPorts: [9100, UInt16(lpdPort), 631],
                    directoryAddresses: directoryServer == nil ? [] : [IPAddress(self.directoryHost)!],
                    directoryPorts: adPort.map { [UInt16($0)] } ?? [])
                let verifier = PcapVerifier(
                    configuration: PcapVerifierConfiguration(
                        capture: runID == nil
                            ? PacketCaptureConfiguration(
                                // An external server may be off this machine: capture on every interface.
                                device: external ? "any" : "lo",
                                filter: "tcp and (host \(cloudAddress) or net \(Self.network(self.printerHost)) or net \(Self.network(self.directoryHost)))",
                                outputPath: self.configuration.pcapOutput)
                            // Topology mode: the WAN link, seen from this (lan) namespace.
                            : PacketCaptureConfiguration(device: NetworkTopology.wanInterface, filter: "tcp", outputPath: self.configuration.pcapOutput),
                        classifier: classifier),
                    logger: self.logger)
                try await verifier.start()
                do {
                    let world = try await SimWorld.build(
                        scenario: scenario, controlPlane: controlPlane, printers: printers, endpoints: endpoints, directory: directoryServer,
                        directoryPort: adPort, directoryHost: self.directoryHost, recorder: recorder, configuration: self.configuration, logger: self.logger,
                        cacheSetup: (subnet: Int(self.subnet.octet), directory: work + "/caches"))
                    let progressGroup = ServiceGroup(configuration: .init(services: [progress], logger: printerLogger))
                    try await withThrowingTaskGroup(of: Void.self) { progressTasks in
                        progressTasks.addTask { try await progressGroup.run() }
                        var failure: (any Error)?
                        do {
                            notes = try await world.run()
                        } catch {
                            failure = error
                        }
                        let verdict = await verifier.stop()
                        verdict.record(into: recorder)
                        notes.append("pcap verifier: \(verdict.status)" + (verdict.pcapOutput.map { ", packets written to \($0)" } ?? ""))
                        await progressGroup.triggerGracefulShutdown()
                        try? await progressTasks.waitForAll()
                        // The fleet's HTTP pool is always shut down, also after a failure.
                        try? await world.shutdown()
                        if let failure { throw failure }
                    }
                } catch {
                    // Never leave the capture thread running.
                    _ = await verifier.stop()
                    throw error
                }
            } catch {
                await group.triggerGracefulShutdown()
                await controlPlane.stop()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            await controlPlane.stop()
            try await tasks.waitForAll()
        }
        return notes
    }

    /// The printers' ports once they listen, or a clear error when they cannot: the
    /// listener's own (a port taken, an address missing) or, failing that, a timeout.
    static func endpoints(of printers: FakePrinterService, host: String) async throws -> FakePrinterService.Endpoints {
        try await withThrowingTaskGroup(of: FakePrinterService.Endpoints?.self) { group in
            group.addTask {
                do {
                    return try await printers.endpoints()
                } catch {
                    throw SimRunError("the fake printers could not listen on \(host): \(error)")
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let endpoints = first else {
                throw SimRunError("the fake printers on \(host) were not listening on ports 9100/515 after 30 s")
            }
            return endpoints
        }
    }

    /// Gives the first `fraction` of the printers a bandwidth limit (256 KiB/s).
    static func slowDown(_ printers: FakePrinterService, fraction: Double) async throws {
        let count = Int(Double(printers.printers.count) * fraction)
        for printer in printers.printers.prefix(count) { try await printer.setFaults(PrinterFaults(bytesPerSecond: 256 * 1024)) }
    }

    /// `127.10.7.1` → `127.10.7.0/24`, for the capture filter.
    static func network(_ host: String) -> String {
        host.split(separator: ".").prefix(3).joined(separator: ".") + ".0/24"
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
