import Foundation
import NIOCore
import PrintplaneCore
import Sim
import PrintplaneTestSupport
import Testing

/// Live captures on loopback while real TCP and TLS connections run (needs root, as CI).
/// Each test uses its own 127.77.N.0/24 and filters on it, so tests do not see each other.
@Suite(.serialized)
struct PcapLoopbackTests {
    /// Addresses and listeners of one loopback "run": server (TLS), printer (RAW sink), agent.
    struct Run {
        var server: String
        var printer: String
        var agent: String
        var serverPort: Int
        var printerPort: Int
        var channels: [any Channel]

        var classifier: PacketClassifier {
            PacketClassifier(
                serverAddresses: [IPAddress(server)!],
                serverPorts: [UInt16(serverPort)],
                printerAddresses: [IPAddress(printer)!],
                printPorts: PacketClassifier.defaultPrintPorts.union([UInt16(printerPort)]),
                agentAddresses: [IPAddress(agent)!]
            )
        }

        func close() async {
            for channel in channels { try? await channel.close() }
        }
    }

    static func makeRun(subnet: Int, printerOnServer: Bool = false) async throws -> Run {
        let server = "127.77.\(subnet).1"
        let printer = printerOnServer ? server : "127.77.\(subnet).2"
        let (serverChannel, serverPort) = try await PcapTestSupport.listen(host: server, tls: try PcapTestSupport.serverTLS(), echo: true)
        let (printerChannel, printerPort) = try await PcapTestSupport.listen(host: printer, echo: false)
        return Run(server: server, printer: printer, agent: "127.77.\(subnet).3", serverPort: serverPort, printerPort: printerPort, channels: [serverChannel, printerChannel])
    }

    /// One check-in-like TLS exchange and one RAW print job of `jobBytes`.
    static func traffic(_ run: Run, jobBytes: Int = 20_000) async throws {
        let hello = Array("POST /api/v1/agent/checkin".utf8)
        let echoed = try await PcapTestSupport.exchange(from: run.agent, to: run.server, port: run.serverPort, tls: true, send: hello, expect: hello.count)
        #expect(echoed == hello, "the TLS echo server answered")
        let job = [UInt8](repeating: 0x41, count: jobBytes)
        try await PcapTestSupport.exchange(from: run.agent, to: run.printer, port: run.printerPort, tls: false, send: job)
        try await PcapTestSupport.settle()
    }

    @Test func loopbackRunKeepsPrintTrafficOffTheCloud() async throws {
        try PcapTestSupport.requireRoot()
        let run = try await Self.makeRun(subnet: 11)
        let verifier = PcapVerifier(configuration: PcapVerifierConfiguration(
            capture: PacketCaptureConfiguration(device: "lo", filter: "net 127.77.11.0/24"),
            classifier: run.classifier
        ))
        try await verifier.start()
        try await Self.traffic(run)
        let result = await verifier.stop()
        await run.close()

        #expect(result.status == .captured)
        #expect(result.linkType == .ethernet, "Linux lo reports DLT_EN10MB")
        let metrics = result.metrics
        #expect(metrics["pcap.print_packets_to_cloud"] == 0)
        #expect(metrics["pcap.non_tls_to_cloud"] == 0)
        #expect(metrics["pcap.server_connections"] == 1)
        #expect(metrics["pcap.dropped"] == 0)
        #expect((metrics["pcap.packets.agent_server"] ?? 0) >= 6, "handshake, data and teardown were seen")
        #expect((metrics["pcap.wan_bytes.agent_printer"] ?? 0) >= 20_000, "the whole job crossed loopback")
        #expect(metrics["pcap.packets.agent_ad"] == 0)
        #expect(metrics["pcap.packets.other"] == 0)
    }

    @Test func printerOnTheServerAddressFailsTheThreshold() async throws {
        try PcapTestSupport.requireRoot()
        let run = try await Self.makeRun(subnet: 12, printerOnServer: true)
        let verifier = PcapVerifier(configuration: PcapVerifierConfiguration(
            capture: PacketCaptureConfiguration(device: "lo", filter: "net 127.77.12.0/24"),
            classifier: run.classifier
        ))
        try await verifier.start()
        try await Self.traffic(run, jobBytes: 5_000)
        let result = await verifier.stop()
        await run.close()

        #expect(result.status == .captured)
        let violations = result.metrics["pcap.print_packets_to_cloud"] ?? 0
        #expect(violations > 0, "a print job to the server's address must be seen")
        #expect(violations == result.metrics["pcap.packets.agent_printer"], "every packet of the job, both directions, is a violation")
    }

    @Test func plainTextToTheServerIsCountedAsNonTLS() async throws {
        try PcapTestSupport.requireRoot()
        let run = try await Self.makeRun(subnet: 13)
        let verifier = PcapVerifier(configuration: PcapVerifierConfiguration(
            capture: PacketCaptureConfiguration(device: "lo", filter: "net 127.77.13.0/24"),
            classifier: run.classifier
        ))
        try await verifier.start()
        try await PcapTestSupport.exchange(from: run.agent, to: run.server, port: run.serverPort, tls: false, send: Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        _ = try await PcapTestSupport.exchange(from: run.agent, to: run.server, port: run.serverPort, tls: true, send: [1, 2, 3], expect: 3)
        try await PcapTestSupport.settle()
        let result = await verifier.stop()
        await run.close()

        #expect(result.metrics["pcap.server_connections"] == 2)
        #expect(result.metrics["pcap.non_tls_to_cloud"] == 1, "the plain-text connection, and only it")
    }

    /// The verifier's per-class figures equal what tshark, reading the verifier's own
    /// `--pcap-out` file, counts for the same endpoints: on lo (Ethernet), on `any`
    /// (Linux cooked SLL) and on `any` asked for SLL2.
    @Test(arguments: [("lo", nil, LinkType.ethernet), ("any", nil, .linuxSLL), ("any", LinkType.linuxSLL2, .linuxSLL2)])
    func countsMatchTshark(device: String, requested: LinkType?, expected: LinkType) async throws {
        try PcapTestSupport.requireRoot()
        let subnet = 20 + Int(expected.rawValue % 50)
        let run = try await Self.makeRun(subnet: subnet)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pp-pcap-\(UUID().uuidString).pcap").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let verifier = PcapVerifier(configuration: PcapVerifierConfiguration(
            capture: PacketCaptureConfiguration(device: device, filter: "net 127.77.\(subnet).0/24", linkType: requested, outputPath: file),
            classifier: run.classifier
        ))
        try await verifier.start()
        try await Self.traffic(run, jobBytes: 50_000)
        let result = await verifier.stop()
        await run.close()
        #expect(result.linkType == expected)
        #expect(result.status == .captured)

        let classes: [(TrafficClass, String)] = [
            (.agentPrinter, "ip.addr == \(run.agent) && ip.addr == \(run.printer) && tcp.port == \(run.printerPort)"),
            (.agentServer, "ip.addr == \(run.agent) && ip.addr == \(run.server) && tcp.port == \(run.serverPort)"),
        ]
        for (trafficClass, filter) in classes {
            let output = try await ExternalTool.run("tshark", ["-n", "-r", file, "-Y", filter, "-T", "fields", "-e", "frame.len"])
            #expect(output.status == 0, "tshark: \(output.stderr)")
            let lengths = output.stdout.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            #expect(!lengths.isEmpty, "tshark saw \(trafficClass) traffic")
            #expect(Double(lengths.count) == result.metrics["pcap.packets.\(trafficClass.rawValue)"], "packets of \(trafficClass)")
            #expect(Double(lengths.reduce(0, +)) == result.metrics["pcap.wan_bytes.\(trafficClass.rawValue)"], "bytes of \(trafficClass)")
        }
    }

    @Test func badDeviceAndFilterGetClearErrors() async throws {
        try PcapTestSupport.requireRoot()
        let classifier = PacketClassifier(serverAddresses: [IPAddress("127.77.30.1")!])
        await #expect(throws: PacketCaptureError.self) {
            try await PcapVerifier(configuration: PcapVerifierConfiguration(capture: PacketCaptureConfiguration(device: "pp-no-such0"), classifier: classifier)).start()
        }
        do {
            try await PcapVerifier(configuration: PcapVerifierConfiguration(capture: PacketCaptureConfiguration(device: "lo", filter: "tcp port banana"), classifier: classifier)).start()
            Issue.record("a bad filter was accepted")
        } catch let error as PacketCaptureError {
            #expect(error.description.contains("invalid BPF filter"))
            #expect(error.description.contains("banana"))
        }
        do {
            try await PcapVerifier(configuration: PcapVerifierConfiguration(capture: PacketCaptureConfiguration(device: "lo", namespace: "pp-missing-ns"), classifier: classifier)).start()
            Issue.record("a missing namespace was accepted")
        } catch let error as PacketCaptureError {
            #expect(error.description.contains("no such network namespace"))
        }
    }
}
