import ArgumentParser
import Foundation
import Logging
import PrintplaneCore
import ServiceLifecycle
import Sim

/// `printplane sim capture`: the pcap verifier on its own, for checking a real network by
/// hand and for the privilege test. Hidden: `sim run` starts the verifier itself.
struct SimCaptureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Capture traffic, classify it and check that no print traffic reaches the server.",
        discussion: """
            Captures until --seconds pass or Ctrl-C, then prints the verdict as JSON: status
            (captured, skipped: needs CAP_NET_RAW, or flagged drops) and the pcap.* metrics
            (docs/pcap.md). Exits 0 only when the capture saw everything, no TCP 9100/515/631
            packet went to or from a --server address, and every connection to the server
            started with a TLS ClientHello. Exit 2 means no capture happened (privileges),
            3 that the capture dropped packets, 1 a violation.

            Example:
              printplane sim capture --device any --seconds 60 --server 203.0.113.10:443 \\
                --printer 192.168.1.20 --agent 192.168.1.50 --pcap-out /tmp/run.pcap
            """,
        shouldDisplay: false
    )

    @Option(help: "Interface to capture on: any, lo, or a NIC/veth name.")
    var device = "any"

    @Option(help: "Network namespace (under /var/run/netns) to capture in.")
    var namespace: String?

    @Option(help: "BPF filter (pcap-filter(7)); empty captures everything.")
    var filter = ""

    @Option(help: "Stop after this many seconds (default: run until Ctrl-C).")
    var seconds: Int?

    @Option(help: "A server address, optionally with its HTTPS port (ADDR or ADDR:PORT; repeatable).")
    var server: [String] = []

    @Option(help: "A printer address (repeatable).")
    var printer: [String] = []

    @Option(help: "A directory (AD) address (repeatable).")
    var directory: [String] = []

    @Option(help: "An agent address (repeatable; none means any address).")
    var agent: [String] = []

    @Option(help: "Print ports (repeatable; default 9100, 515, 631).")
    var printPort: [UInt16] = []

    @Option(help: "Also write the captured packets to this pcap file (readable by tshark/wireshark).")
    var pcapOut: String?

    @Flag(help: "On `any`, ask for Linux cooked v2 (SLL2) headers instead of SLL.")
    var sll2 = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "warning"

    func validate() throws {
        guard !server.isEmpty else { throw ValidationError("give at least one --server address: it is what print traffic must never reach") }
        if let seconds, seconds <= 0 { throw ValidationError("--seconds must be positive") }
    }

    func makeConfiguration() throws -> PcapVerifierConfiguration {
        func address(_ text: String, _ flag: String) throws -> IPAddress {
            guard let address = IPAddress(text) else { throw ValidationError("--\(flag) '\(text)' is not an IPv4 or IPv6 address") }
            return address
        }
        var serverAddresses: Set<IPAddress> = []
        var serverPorts: Set<UInt16> = []
        for entry in server {
            // ADDR:PORT for IPv4 ([ADDR]:PORT for IPv6); a bare address means every port.
            if let address = IPAddress(entry.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) {
                serverAddresses.insert(address)
                continue
            }
            guard let colon = entry.lastIndex(of: ":"), let port = UInt16(entry[entry.index(after: colon)...]) else {
                throw ValidationError("--server '\(entry)' is not ADDR or ADDR:PORT")
            }
            let host = entry[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            serverAddresses.insert(try address(host, "server"))
            serverPorts.insert(port)
        }
        let classifier = PacketClassifier(
            serverAddresses: serverAddresses,
            serverPorts: serverPorts,
            printerAddresses: Set(try printer.map { try address($0, "printer") }),
            printPorts: printPort.isEmpty ? PacketClassifier.defaultPrintPorts : Set(printPort),
            directoryAddresses: Set(try directory.map { try address($0, "directory") }),
            agentAddresses: Set(try agent.map { try address($0, "agent") })
        )
        let capture = PacketCaptureConfiguration(
            device: device, namespace: namespace, filter: filter,
            linkType: sll2 ? .linuxSLL2 : nil, outputPath: pcapOut
        )
        return PcapVerifierConfiguration(capture: capture, classifier: classifier)
    }

    func run() async throws {
        var logger = Logger(label: "printplane.pcap")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning
        let verifier = PcapVerifier(configuration: try makeConfiguration(), logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: verifier)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            if let seconds {
                tasks.addTask {
                    try await Task.sleep(for: .seconds(seconds))
                    await group.triggerGracefulShutdown()
                }
            }
            try await tasks.next()
            tasks.cancelAll()
        }
        let result = verifier.result ?? PcapVerificationResult(status: .skipped(reason: "capture never started"), metrics: [:])
        let report: [String: Any] = ["status": result.status.description, "metrics": result.metrics]
        let json = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        FileHandle.standardOutput.write(json + Data("\n".utf8))
        switch result.status {
        case .skipped: throw ExitCode(2)
        case .flaggedDrops: throw ExitCode(3)
        case .failed: throw ExitCode(1)
        case .captured:
            if result.metrics["pcap.print_packets_to_cloud", default: 0] > 0 || result.metrics["pcap.non_tls_to_cloud", default: 0] > 0 {
                throw ExitCode(1)
            }
        }
    }
}
