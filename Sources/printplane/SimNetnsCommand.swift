import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Sim

/// `printplane sim netns`: builds a topology-mode network (cloud + lan namespaces joined by
/// a WAN veth) and holds it until SIGINT/SIGTERM. Hidden: the simulator builds its own; this
/// is for looking at the network by hand and for the crash-cleanup test.
struct SimNetnsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netns",
        abstract: "Create the topology-mode namespaces and hold them until interrupted.",
        discussion: """
            Creates pp-RUN-cloud (server address 10.213.0.1) and pp-RUN-lan0… (lan i is
            10.213.(i+1).2 on its `wan` veth, gateway 10.213.(i+1).1), prints their names, and
            deletes them on Ctrl-C or SIGTERM. If this process is killed outright, a reaper child
            deletes them; stale namespaces of dead runs are also swept at the next start.
            Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).

            Example:
              printplane sim netns --run-id demo &
              ip netns exec pp-demo-lan0 ping -c1 10.213.0.1
            """,
        shouldDisplay: false
    )

    @Option(help: "Run ID in the namespace names (letters, digits, '_'; at most 24).")
    var runID: String

    @Option(help: "Number of lan namespaces (1-200).")
    var lans = 1

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        var logger = Logger(label: "printplane.sim.netns")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let service = NetworkTopologyService(
            configuration: NetworkTopologyConfiguration(runID: runID, lanCount: lans),
            logger: logger
        ) { topology in
            // Unbuffered, so a script (or the crash test) sees it at once.
            let line = "ready: cloud \(topology.cloudNamespace) (server \(NetworkTopology.serverAddress)); lans \(topology.lanNamespaces.joined(separator: " "))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }
}
