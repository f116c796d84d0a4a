import PrintplaneCore

/// Sorts packets into `TrafficClass`es by endpoint and port. A pure value: the same
/// packet always gets the same class, so it can be table- and property-tested.
///
/// A packet is `agentServer` when one end is an agent and the other a server address on a
/// server port; `agentPrinter` when the other end is a printer address on a print port;
/// `agentAD` when it is a directory address on a directory port; else `other`. The first
/// rule that matches wins, in that order. An empty `agentAddresses` means "any address".
public struct PacketClassifier: Hashable, Sendable {
    /// The print ports DESIGN.md §6 forbids towards the cloud: RAW 9100, LPD 515, IPP 631.
    public static let defaultPrintPorts: Set<UInt16> = [9100, 515, 631]
    /// LDAP, LDAPS, global catalog (plain and TLS) and Kerberos.
    public static let defaultDirectoryPorts: Set<UInt16> = [389, 636, 3268, 3269, 88]

    /// Every address the control-plane server answers on (print ports to these are violations).
    public var serverAddresses: Set<IPAddress>
    /// Empty means every port of a server address counts as the server.
    public var serverPorts: Set<UInt16>
    /// The printers' addresses.
    public var printerAddresses: Set<IPAddress>
    /// Ports that carry print jobs: `defaultPrintPorts` unless a test listens elsewhere.
    public var printPorts: Set<UInt16>
    /// The directory (AD) servers' addresses.
    public var directoryAddresses: Set<IPAddress>
    /// Ports that carry directory traffic.
    public var directoryPorts: Set<UInt16>
    /// Empty means any address may be an agent (loopback runs where agents share 127.0.0.1).
    public var agentAddresses: Set<IPAddress>

    /// Describes a run's endpoints; only the server addresses are required.
    public init(
        serverAddresses: Set<IPAddress>,
        serverPorts: Set<UInt16> = [],
        printerAddresses: Set<IPAddress> = [],
        printPorts: Set<UInt16> = PacketClassifier.defaultPrintPorts,
        directoryAddresses: Set<IPAddress> = [],
        directoryPorts: Set<UInt16> = PacketClassifier.defaultDirectoryPorts,
        agentAddresses: Set<IPAddress> = []
    ) {
        self.serverAddresses = serverAddresses
        self.serverPorts = serverPorts
        self.printerAddresses = printerAddresses
        self.printPorts = printPorts
        self.directoryAddresses = directoryAddresses
        self.directoryPorts = directoryPorts
        self.agentAddresses = agentAddresses
    }

    /// The class of a packet between two endpoints. Ports are `nil` for protocols without them.
    public func classify(source: IPAddress, sourcePort: UInt16?, destination: IPAddress, destinationPort: UInt16?) -> TrafficClass {
        guard let sourcePort, let destinationPort else { return .other }
        func either(_ rule: (IPAddress, UInt16) -> Bool) -> Bool {
            (isAgent(source) && rule(destination, destinationPort)) || (isAgent(destination) && rule(source, sourcePort))
        }
        if either(isServer) { return .agentServer }
        if either({ printerAddresses.contains($0) && printPorts.contains($1) }) { return .agentPrinter }
        if either({ directoryAddresses.contains($0) && directoryPorts.contains($1) }) { return .agentAD }
        return .other
    }

    /// The class of a decoded packet.
    public func classify(_ packet: DecodedPacket) -> TrafficClass {
        classify(source: packet.source, sourcePort: packet.sourcePort, destination: packet.destination, destinationPort: packet.destinationPort)
    }

    /// True for a TCP packet on a print port to or from any server address, on either side:
    /// exactly what `pcap.print_packets_to_cloud` counts.
    public func isPrintTrafficToCloud(_ packet: DecodedPacket) -> Bool {
        guard packet.transport == .tcp, let sourcePort = packet.sourcePort, let destinationPort = packet.destinationPort else { return false }
        return (serverAddresses.contains(packet.destination) && printPorts.contains(destinationPort))
            || (serverAddresses.contains(packet.source) && printPorts.contains(sourcePort))
    }

    /// True when `address:port` is the server end of an agent↔server connection.
    public func isServer(_ address: IPAddress, port: UInt16) -> Bool {
        serverAddresses.contains(address) && (serverPorts.isEmpty || serverPorts.contains(port))
    }

    private func isAgent(_ address: IPAddress) -> Bool {
        agentAddresses.isEmpty || agentAddresses.contains(address)
    }
}
