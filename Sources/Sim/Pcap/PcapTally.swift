import PrintplaneCore

/// The verifier's running counts: packets and bytes per class, print packets to the cloud,
/// and the TLS check on every agent↔server connection. A value fed one frame at a time,
/// so it is tested with hand-made frames and fed by the capture thread in production.
public struct PcapTally: Sendable {
    /// One agent↔server TCP connection, keyed from the client's side.
    private struct Connection: Hashable {
        var client: IPAddress
        var clientPort: UInt16
        var server: IPAddress
        var serverPort: UInt16
    }

    private enum ConnectionState {
        case awaitingClientPayload
        case decided
    }

    /// Decides each packet's class.
    public let classifier: PacketClassifier
    /// Packets per class.
    public private(set) var packets: [TrafficClass: Int] = [:]
    /// Wire bytes per class.
    public private(set) var bytes: [TrafficClass: Int] = [:]
    /// TCP packets on a print port to or from a server address.
    public private(set) var printPacketsToCloud = 0
    /// Agent↔server connections whose first client payload was not a TLS ClientHello.
    public private(set) var nonTLSToCloud = 0
    /// Agent↔server connections whose SYN was seen (so the first payload can be judged).
    public private(set) var serverConnections = 0
    /// Agent↔server payload seen on connections that opened before the capture started.
    public private(set) var unverifiedConnections = 0
    private var connections: [Connection: ConnectionState] = [:]
    private var unverified: Set<Connection> = []

    /// An empty tally for a run with these endpoints.
    public init(classifier: PacketClassifier) {
        self.classifier = classifier
    }

    /// Counts one frame. `decoded` is `nil` for frames that are not IP (they count as `other`).
    public mutating func add(wireLength: Int, decoded: DecodedPacket?) {
        guard let decoded else {
            count(.other, wireLength)
            return
        }
        let trafficClass = classifier.classify(decoded)
        count(trafficClass, wireLength)
        if classifier.isPrintTrafficToCloud(decoded) { printPacketsToCloud += 1 }
        if trafficClass == .agentServer, decoded.transport == .tcp { track(decoded) }
    }

    /// Decodes and counts one captured frame.
    public mutating func add(_ packet: CapturedPacket) {
        add(wireLength: packet.wireLength, decoded: PacketDecoder.decode(packet))
    }

    /// The figures under the names scenario thresholds use (docs/pcap.md).
    public var metrics: [String: Double] {
        var metrics: [String: Double] = [
            "pcap.print_packets_to_cloud": Double(printPacketsToCloud),
            "pcap.non_tls_to_cloud": Double(nonTLSToCloud),
            "pcap.server_connections": Double(serverConnections),
            "pcap.unverified_connections": Double(unverifiedConnections),
        ]
        for trafficClass in TrafficClass.allCases {
            metrics["pcap.packets.\(trafficClass.rawValue)"] = Double(packets[trafficClass, default: 0])
            metrics["pcap.wan_bytes.\(trafficClass.rawValue)"] = Double(bytes[trafficClass, default: 0])
        }
        return metrics
    }

    private mutating func count(_ trafficClass: TrafficClass, _ length: Int) {
        packets[trafficClass, default: 0] += 1
        bytes[trafficClass, default: 0] += length
    }

    private mutating func track(_ packet: DecodedPacket) {
        guard let sourcePort = packet.sourcePort, let destinationPort = packet.destinationPort else { return }
        let fromClient = classifier.isServer(packet.destination, port: destinationPort)
        let key = fromClient
            ? Connection(client: packet.source, clientPort: sourcePort, server: packet.destination, serverPort: destinationPort)
            : Connection(client: packet.destination, clientPort: destinationPort, server: packet.source, serverPort: sourcePort)
        if fromClient && packet.tcpFlags.contains(.syn) && !packet.tcpFlags.contains(.ack) {
            if connections.updateValue(.awaitingClientPayload, forKey: key) == nil { serverConnections += 1 }
            return
        }
        guard fromClient, packet.payloadLength > 0 else { return }
        switch connections[key] {
        case .awaitingClientPayload:
            if !packet.startsWithTLSClientHello { nonTLSToCloud += 1 }
            connections[key] = .decided
        case .decided:
            break
        case nil:
            if unverified.insert(key).inserted { unverifiedConnections += 1 }
        }
    }
}
