import PrintplaneCore
import PropertyBased
import Sim
import Testing

struct PacketClassifierTests {
    static let server = IPAddress("10.213.0.1")!
    static let printer = IPAddress("10.213.1.20")!
    static let directory = IPAddress("10.213.1.30")!
    static let agent = IPAddress("10.213.1.2")!
    static let stranger = IPAddress("192.0.2.9")!

    static let classifier = PacketClassifier(
        serverAddresses: [server],
        serverPorts: [8443],
        printerAddresses: [printer],
        directoryAddresses: [directory],
        agentAddresses: [agent]
    )

    @Test(arguments: [
        (agent, 40000, server, 8443, TrafficClass.agentServer),
        (server, 8443, agent, 40000, .agentServer),
        (agent, 40000, server, 8080, .other),
        (agent, 40000, printer, 9100, .agentPrinter),
        (printer, 515, agent, 721, .agentPrinter),
        (agent, 40000, printer, 631, .agentPrinter),
        (agent, 40000, printer, 80, .other),
        (agent, 40000, directory, 389, .agentAD),
        (directory, 636, agent, 40000, .agentAD),
        (agent, 40000, directory, 3268, .agentAD),
        (agent, 40000, directory, 9100, .other),
        (stranger, 40000, server, 8443, .other),
        (stranger, 40000, printer, 9100, .other),
    ] as [(IPAddress, Int, IPAddress, Int, TrafficClass)])
    func classifiesByEndpointAndPort(source: IPAddress, sourcePort: Int, destination: IPAddress, destinationPort: Int, expected: TrafficClass) {
        #expect(Self.classifier.classify(source: source, sourcePort: UInt16(sourcePort), destination: destination, destinationPort: UInt16(destinationPort)) == expected)
    }

    @Test func packetsWithoutPortsAreOther() {
        #expect(Self.classifier.classify(source: Self.agent, sourcePort: nil, destination: Self.server, destinationPort: nil) == .other)
    }

    @Test func printPortsToAnyServerAddressAreViolationsEitherWay() {
        let toCloud = DecodedPacket(source: Self.agent, destination: Self.server, transport: .tcp, sourcePort: 40000, destinationPort: 9100)
        let fromCloud = DecodedPacket(source: Self.server, destination: Self.stranger, transport: .tcp, sourcePort: 515, destinationPort: 40000)
        let udp = DecodedPacket(source: Self.agent, destination: Self.server, transport: .udp, sourcePort: 40000, destinationPort: 9100)
        let https = DecodedPacket(source: Self.agent, destination: Self.server, transport: .tcp, sourcePort: 40000, destinationPort: 8443)
        #expect(Self.classifier.isPrintTrafficToCloud(toCloud))
        #expect(Self.classifier.isPrintTrafficToCloud(fromCloud))
        #expect(!Self.classifier.isPrintTrafficToCloud(udp))
        #expect(!Self.classifier.isPrintTrafficToCloud(https))
    }

    @Test func emptyAgentSetMeansAnyAddress() {
        let open = PacketClassifier(serverAddresses: [Self.server], serverPorts: [8443])
        #expect(open.classify(source: Self.stranger, sourcePort: 1, destination: Self.server, destinationPort: 8443) == .agentServer)
    }

    /// A packet and its reply always land in the same class.
    @Test func classIsTheSameInBothDirections() async {
        let addresses = [Self.server, Self.printer, Self.directory, Self.agent, Self.stranger]
        let ports: [UInt16] = [8443, 9100, 515, 631, 389, 636, 40000, 80]
        await propertyCheck(count: 500, input: Gen.int(in: 0...4), Gen.int(in: 0...7), Gen.int(in: 0...4), Gen.int(in: 0...7)) { s, sp, d, dp in
            let forward = Self.classifier.classify(source: addresses[s], sourcePort: ports[sp], destination: addresses[d], destinationPort: ports[dp])
            let backward = Self.classifier.classify(source: addresses[d], sourcePort: ports[dp], destination: addresses[s], destinationPort: ports[sp])
            #expect(forward == backward)
        }
    }
}

struct PcapTallyTests {
    let classifier = PacketClassifierTests.classifier
    let agent = PacketClassifierTests.agent.bytes
    let server = PacketClassifierTests.server.bytes

    func add(_ tally: inout PcapTally, _ ip: [UInt8]) {
        let frame = FrameBuilder.ethernet(ip)
        tally.add(CapturedPacket(linkType: .ethernet, wireLength: frame.count, bytes: frame))
    }

    @Test func tlsConnectionsPassAndPlainOnesCount() {
        var tally = PcapTally(classifier: classifier)
        // Connection 1: SYN, SYN-ACK, ClientHello.
        add(&tally, FrameBuilder.ipv4TCP(agent, server, sourcePort: 40001, destinationPort: 8443, flags: 0x02))
        add(&tally, FrameBuilder.ipv4TCP(server, agent, sourcePort: 8443, destinationPort: 40001, flags: 0x12))
        add(&tally, FrameBuilder.ipv4TCP(agent, server, sourcePort: 40001, destinationPort: 8443, payload: FrameBuilder.clientHello))
        // Later plain bytes on the same connection are TLS records' continuation: not judged again.
        add(&tally, FrameBuilder.ipv4TCP(agent, server, sourcePort: 40001, destinationPort: 8443, payload: Array("xx".utf8)))
        // Connection 2: SYN then plain HTTP.
        add(&tally, FrameBuilder.ipv4TCP(agent, server, sourcePort: 40002, destinationPort: 8443, flags: 0x02))
        add(&tally, FrameBuilder.ipv4TCP(agent, server, sourcePort: 40002, destinationPort: 8443, payload: Array("GET / HTTP/1.1".utf8)))
        // Connection 3: opened before the capture (no SYN seen): unverified, not failed.
        add(&tally, FrameBuilder.ipv4TCP(agent, server, sourcePort: 40003, destinationPort: 8443, payload: Array("zz".utf8)))
        let metrics = tally.metrics
        #expect(metrics["pcap.server_connections"] == 2)
        #expect(metrics["pcap.non_tls_to_cloud"] == 1)
        #expect(metrics["pcap.unverified_connections"] == 1)
        #expect(metrics["pcap.packets.agent_server"] == 7)
        #expect(metrics["pcap.print_packets_to_cloud"] == 0)
    }

    @Test func bytesAreWireLengthsAndNonIPIsOther() {
        var tally = PcapTally(classifier: classifier)
        tally.add(wireLength: 1514, decoded: nil)
        add(&tally, FrameBuilder.ipv4TCP(agent, PacketClassifierTests.printer.bytes, sourcePort: 40000, destinationPort: 9100, payload: [1, 2, 3]))
        add(&tally, FrameBuilder.ipv4TCP(agent, server, sourcePort: 40000, destinationPort: 9100))
        let metrics = tally.metrics
        #expect(metrics["pcap.packets.other"] == 2, "the non-IP frame and 9100 to the server (server port is 8443)")
        #expect(metrics["pcap.wan_bytes.other"] == Double(1514 + 14 + 40))
        #expect(metrics["pcap.wan_bytes.agent_printer"] == Double(14 + 43))
        #expect(metrics["pcap.print_packets_to_cloud"] == 1)
        for trafficClass in TrafficClass.allCases {
            #expect(metrics["pcap.packets.\(trafficClass.rawValue)"] != nil)
            #expect(metrics["pcap.wan_bytes.\(trafficClass.rawValue)"] != nil)
        }
    }
}
