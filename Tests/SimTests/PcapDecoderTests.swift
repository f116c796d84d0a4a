import PrintplaneCore
import PropertyBased
import Sim
import Testing

/// Hand-built frames for every link type the verifier meets.
enum FrameBuilder {
    /// An IPv4 header + TCP header (+ payload); `totalLength` as the IP header states it.
    static func ipv4TCP(_ source: [UInt8], _ destination: [UInt8], sourcePort: UInt16, destinationPort: UInt16, flags: UInt8 = 0x18, payload: [UInt8] = []) -> [UInt8] {
        let total = 20 + 20 + payload.count
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0x40, 0, 64, 6, 0, 0]
        ip += source + destination
        return ip + tcp(sourcePort, destinationPort, flags: flags) + payload
    }

    static func ipv4UDP(_ source: [UInt8], _ destination: [UInt8], sourcePort: UInt16, destinationPort: UInt16) -> [UInt8] {
        var ip: [UInt8] = [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0]
        ip += source + destination
        return ip + [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xFF), UInt8(destinationPort >> 8), UInt8(destinationPort & 0xFF), 0, 8, 0, 0]
    }

    static func ipv6TCP(_ source: [UInt8], _ destination: [UInt8], sourcePort: UInt16, destinationPort: UInt16, flags: UInt8 = 0x18, payload: [UInt8] = []) -> [UInt8] {
        let length = 20 + payload.count
        var ip: [UInt8] = [0x60, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xFF), 6, 64]
        ip += source + destination
        return ip + tcp(sourcePort, destinationPort, flags: flags) + payload
    }

    static func tcp(_ sourcePort: UInt16, _ destinationPort: UInt16, flags: UInt8) -> [UInt8] {
        [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xFF), UInt8(destinationPort >> 8), UInt8(destinationPort & 0xFF),
         0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]
    }

    static func ethernet(_ ip: [UInt8], etherType: UInt16 = 0x0800) -> [UInt8] {
        [UInt8](repeating: 0, count: 12) + [UInt8(etherType >> 8), UInt8(etherType & 0xFF)] + ip
    }

    static func sll(_ ip: [UInt8], etherType: UInt16 = 0x0800) -> [UInt8] {
        [0, 0, 0, 1, 0, 6] + [UInt8](repeating: 0, count: 8) + [UInt8(etherType >> 8), UInt8(etherType & 0xFF)] + ip
    }

    static func sll2(_ ip: [UInt8], etherType: UInt16 = 0x0800) -> [UInt8] {
        [UInt8(etherType >> 8), UInt8(etherType & 0xFF), 0, 0, 0, 0, 0, 1, 0, 1, 0, 6] + [UInt8](repeating: 0, count: 8) + ip
    }

    static let clientHello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0xF4, 0x01, 0x00, 0x00, 0xF0]
}

struct PcapDecoderTests {
    let a: [UInt8] = [127, 77, 0, 3]
    let b: [UInt8] = [10, 213, 0, 1]

    @Test(arguments: [
        (LinkType.ethernet, FrameBuilder.ethernet(FrameBuilder.ipv4TCP([127, 77, 0, 3], [10, 213, 0, 1], sourcePort: 40000, destinationPort: 9100))),
        (LinkType.linuxSLL, FrameBuilder.sll(FrameBuilder.ipv4TCP([127, 77, 0, 3], [10, 213, 0, 1], sourcePort: 40000, destinationPort: 9100))),
        (LinkType.linuxSLL2, FrameBuilder.sll2(FrameBuilder.ipv4TCP([127, 77, 0, 3], [10, 213, 0, 1], sourcePort: 40000, destinationPort: 9100))),
        (LinkType.null, [2, 0, 0, 0] + FrameBuilder.ipv4TCP([127, 77, 0, 3], [10, 213, 0, 1], sourcePort: 40000, destinationPort: 9100)),
        (LinkType.loop, [0, 0, 0, 2] + FrameBuilder.ipv4TCP([127, 77, 0, 3], [10, 213, 0, 1], sourcePort: 40000, destinationPort: 9100)),
        (LinkType.raw, FrameBuilder.ipv4TCP([127, 77, 0, 3], [10, 213, 0, 1], sourcePort: 40000, destinationPort: 9100)),
        (LinkType.ethernet, [UInt8](repeating: 0, count: 12) + [0x81, 0x00, 0, 5, 0x08, 0x00] + FrameBuilder.ipv4TCP([127, 77, 0, 3], [10, 213, 0, 1], sourcePort: 40000, destinationPort: 9100)),
    ])
    func everyLinkTypeYieldsTheSameTCPPacket(linkType: LinkType, frame: [UInt8]) throws {
        let packet = try #require(PacketDecoder.decode(frame, linkType: linkType))
        #expect(packet.source == IPAddress("127.77.0.3"))
        #expect(packet.destination == IPAddress("10.213.0.1"))
        #expect(packet.transport == .tcp)
        #expect(packet.sourcePort == 40000)
        #expect(packet.destinationPort == 9100)
        #expect(packet.tcpFlags == [.psh, .ack])
        #expect(packet.payloadLength == 0)
    }

    @Test func ipv6OverSLL2WithClientHello() throws {
        let source = IPAddress("fd00::3")!.bytes
        let destination = IPAddress("fd00::1")!.bytes
        let frame = FrameBuilder.sll2(FrameBuilder.ipv6TCP(source, destination, sourcePort: 50000, destinationPort: 8443, payload: FrameBuilder.clientHello), etherType: 0x86DD)
        let packet = try #require(PacketDecoder.decode(frame, linkType: .linuxSLL2))
        #expect(packet.source == IPAddress("fd00::3"))
        #expect(packet.destinationPort == 8443)
        #expect(packet.payloadLength == FrameBuilder.clientHello.count)
        #expect(packet.startsWithTLSClientHello)
    }

    @Test func udpAndPayloadRecognition() throws {
        let udp = try #require(PacketDecoder.decode(FrameBuilder.ethernet(FrameBuilder.ipv4UDP(a, b, sourcePort: 5353, destinationPort: 53)), linkType: .ethernet))
        #expect(udp.transport == .udp)
        #expect(udp.destinationPort == 53)
        let http = try #require(PacketDecoder.decode(FrameBuilder.ethernet(FrameBuilder.ipv4TCP(a, b, sourcePort: 1, destinationPort: 443, payload: Array("GET / HTTP/1.1".utf8))), linkType: .ethernet))
        #expect(http.payloadLength == 14)
        #expect(!http.startsWithTLSClientHello)
        // A TLS record that is not a ClientHello (handshake type 2, ServerHello).
        var serverHello = FrameBuilder.clientHello
        serverHello[5] = 0x02
        let tls = try #require(PacketDecoder.decode(FrameBuilder.ethernet(FrameBuilder.ipv4TCP(a, b, sourcePort: 1, destinationPort: 443, payload: serverHello)), linkType: .ethernet))
        #expect(!tls.startsWithTLSClientHello)
    }

    @Test func nonIPAndTruncatedFramesAreHandled() {
        let arp = FrameBuilder.ethernet([0, 1, 8, 0, 6, 4, 0, 1], etherType: 0x0806)
        #expect(PacketDecoder.decode(arp, linkType: .ethernet) == nil)
        #expect(PacketDecoder.decode([1, 2, 3], linkType: .linuxSLL) == nil)
        #expect(PacketDecoder.decode([], linkType: .raw) == nil)
        #expect(PacketDecoder.decode(FrameBuilder.ethernet(FrameBuilder.ipv4TCP(a, b, sourcePort: 1, destinationPort: 2)), linkType: LinkType(rawValue: 147)) == nil)
        // Snap length cut inside the TCP header: addresses still known, ports not.
        let full = FrameBuilder.ethernet(FrameBuilder.ipv4TCP(a, b, sourcePort: 1, destinationPort: 9100))
        let cut = PacketDecoder.decode(Array(full.prefix(14 + 20 + 6)), linkType: .ethernet)
        #expect(cut?.source == IPAddress("127.77.0.3"))
        #expect(cut?.destinationPort == nil)
    }

    @Test func arbitraryBytesNeverCrashTheDecoder() async {
        let linkTypes: [LinkType] = [.null, .ethernet, .raw, .loop, .linuxSLL, .linuxSLL2]
        await propertyCheck(count: 2000, input: Gen.int(in: 0...5), Gen.int(in: 0...255).map { UInt8($0) }.array(of: 0...120)) { index, bytes in
            let packet = PacketDecoder.decode(bytes, linkType: linkTypes[index])
            if let packet {
                #expect(packet.source.bytes.count == 4 || packet.source.bytes.count == 16)
                #expect(packet.payloadPrefix.count <= 8)
            }
        }
    }

    /// Valid headers with random addresses and ports decode back to exactly those values.
    @Test func randomValidPacketsRoundTrip() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...255).map { UInt8($0) }.array(of: 4...4), Gen.int(in: 0...255).map { UInt8($0) }.array(of: 4...4), Gen.int(in: 0...65535).map { UInt16($0) }, Gen.int(in: 0...65535).map { UInt16($0) }) { source, destination, sourcePort, destinationPort in
            let frame = FrameBuilder.sll(FrameBuilder.ipv4TCP(source, destination, sourcePort: sourcePort, destinationPort: destinationPort))
            let packet = PacketDecoder.decode(frame, linkType: .linuxSLL)
            #expect(packet?.source.bytes == source)
            #expect(packet?.destination.bytes == destination)
            #expect(packet?.sourcePort == sourcePort)
            #expect(packet?.destinationPort == destinationPort)
        }
    }
}
