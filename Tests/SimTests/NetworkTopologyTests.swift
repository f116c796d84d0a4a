import Foundation
import PrintplaneCore
import Sim
import PrintplaneTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Topology mode against the real kernel: namespaces, veth WAN link, capture inside the lan
/// namespace, teardown, and cleanup after the owner is killed (needs root, as CI).
@Suite(.serialized)
struct NetworkTopologyTests {
    static func runID(_ tag: String) -> String {
        "\(tag)\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Names of our namespaces and links still visible on the host.
    static func leftovers(runID: String) async throws -> [String] {
        let namespaces = try await NetworkTopology.namespaces().filter { $0.hasPrefix("pp-\(runID)-") }
        let links = try await ExternalTool.run("ip", ["-o", "link"])
        let linkNames = links.stdout.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: ":")
            guard fields.count > 1 else { return nil }
            return String(fields[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first ?? "")
        }
        let ours = linkNames.filter { $0 == "wan" || ($0.hasPrefix("wan") && Int($0.dropFirst(3)) != nil) || $0.hasPrefix("pp-") }
        return namespaces + ours
    }

    /// Starts `openssl s_server` on `address:port` inside `namespace`, not waiting for it
    /// (the topology's teardown kills everything inside its namespaces). Each server has its
    /// own certificate and key files: with shared ones, a second server's new pair could
    /// replace the files between the first one's reads of its certificate and its key, and
    /// that openssl exited at once on the mismatch (seen in CI as a server that never answered).
    static func startTLSServer(namespace: String, address: String, port: Int, directory: String) throws -> Process {
        let authority = try SimulatedADCertificateAuthority(hostnames: ["pcap.test"])
        let certificate = directory + "/cert-\(port).pem", key = directory + "/key-\(port).pem"
        try authority.serverCertificatePEM.write(toFile: certificate, atomically: true, encoding: .utf8)
        try authority.serverPrivateKeyPEM.write(toFile: key, atomically: true, encoding: .utf8)
        _ = try ExternalTool.path(of: "openssl")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ExternalTool.path(of: "ip"))
        process.arguments = ["netns", "exec", namespace, "openssl", "s_server", "-quiet", "-www", "-accept", "\(address):\(port)",
                             "-cert", certificate, "-key", key]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.terminationHandler = { _ in }
        try process.run()
        return process
    }

    /// curl from `namespace` until it gets an HTTP answer (the server may still be starting).
    /// Readiness is waited for by time (60 s), not by a count of tries: on a loaded CI
    /// machine the server process can take many seconds to start listening.
    static func curl(_ topology: NetworkTopology, from namespace: String, url: String, attempts: Int = .max) async throws -> String {
        var last = ""
        let deadline = ContinuousClock.now + .seconds(60)
        var tries = 0
        while tries < attempts && (tries == 0 || ContinuousClock.now < deadline) {
            tries += 1
            let output = try await topology.run(["curl", "-sk", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", url], in: namespace)
            last = output.output
            if output.status == 0 { return output.output }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("curl \(url) from \(namespace) never succeeded: \(last)")
        return last
    }

    @Test func wanCaptureSeesTLSFromLanToCloudAndTeardownLeavesNothing() async throws {
        try PcapTestSupport.requireRoot()
        _ = try ExternalTool.path(of: "curl")
        let runID = Self.runID("t")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-topo-\(runID)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let topology = try await NetworkTopology.create(NetworkTopologyConfiguration(runID: runID, lanCount: 2))
        do {
            #expect(try await NetworkTopology.namespaces().filter { $0.hasPrefix("pp-\(runID)-") }.sorted() == [topology.cloudNamespace] + topology.lanNamespaces)
            let server = NetworkTopology.serverAddress
            _ = try Self.startTLSServer(namespace: topology.cloudNamespace, address: "\(server)", port: 8443, directory: directory)
            _ = try Self.startTLSServer(namespace: topology.cloudNamespace, address: "\(server)", port: 9100, directory: directory)
            // Ready check from the second lan, whose link the capture does not watch.
            #expect(try await Self.curl(topology, from: topology.lanNamespaces[1], url: "https://\(server):8443/") == "200")
            #expect(try await Self.curl(topology, from: topology.lanNamespaces[1], url: "https://\(server):9100/") == "200")

            let printer = IPAddress("10.213.1.20")!
            try await topology.addAddress(printer, lan: 0)
            let verifier = PcapVerifier(configuration: PcapVerifierConfiguration(
                capture: PacketCaptureConfiguration(device: NetworkTopology.wanInterface, namespace: topology.lanNamespaces[0], filter: "ip or ip6"),
                classifier: PacketClassifier(
                    serverAddresses: [server], serverPorts: [8443],
                    printerAddresses: [printer],
                    agentAddresses: [topology.lanAddress(0)]
                )
            ))
            try await verifier.start()
            #expect(try await Self.curl(topology, from: topology.lanNamespaces[0], url: "https://\(server):8443/", attempts: 1) == "200")
            try await Task.sleep(for: .milliseconds(300))
            let clean = await verifier.stop()

            #expect(clean.status == .captured)
            #expect(clean.linkType == .ethernet, "a veth delivers Ethernet frames")
            #expect(clean.metrics["pcap.print_packets_to_cloud"] == 0)
            #expect(clean.metrics["pcap.non_tls_to_cloud"] == 0)
            #expect(clean.metrics["pcap.server_connections"] == 1, "one curl from lan0; lan1's traffic is not on lan0's link")
            #expect((clean.metrics["pcap.wan_bytes.agent_server"] ?? 0) > 1_000, "a TLS handshake and an HTTP page crossed the WAN")

            // The same capture sees a print port to the server's address across the WAN.
            let violating = PcapVerifier(configuration: verifier.configuration)
            try await violating.start()
            #expect(try await Self.curl(topology, from: topology.lanNamespaces[0], url: "https://\(server):9100/", attempts: 1) == "200")
            try await Task.sleep(for: .milliseconds(300))
            let dirty = await violating.stop()
            #expect((dirty.metrics["pcap.print_packets_to_cloud"] ?? 0) > 0)
        } catch {
            try? await topology.tearDown()
            throw error
        }
        try await topology.tearDown()
        #expect(try await Self.leftovers(runID: runID) == [])
        #expect(!FileManager.default.fileExists(atPath: "\(NetworkTopology.ownerDirectory)/\(runID)"))
    }

    @Test func killedOwnerLeavesNothingBehind() async throws {
        try PcapTestSupport.requireRoot()
        let binary = try PcapTestSupport.printplaneBinary()
        let runID = Self.runID("k")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("pp-netns-\(runID).log").path
        FileManager.default.createFile(atPath: log, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: log) }
        let owner = Process()
        owner.executableURL = URL(fileURLWithPath: binary)
        owner.arguments = ["sim", "netns", "--run-id", runID, "--lans", "2"]
        owner.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        owner.standardError = owner.standardOutput
        owner.standardInput = FileHandle.nullDevice
        let exited = AsyncStream<Int32>.makeStream()
        owner.terminationHandler = { exited.continuation.yield($0.terminationStatus); exited.continuation.finish() }
        try owner.run()

        var up = false
        for _ in 0..<100 where !up {
            up = try await NetworkTopology.namespaces().filter { $0.hasPrefix("pp-\(runID)-") }.count == 3
            if !up { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(up, "the owner built pp-\(runID)-cloud/lan0/lan1: \(String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self))")
        kill(owner.processIdentifier, SIGKILL)
        for await _ in exited.stream {}
        #expect(owner.terminationReason == .uncaughtSignal)

        var left = try await Self.leftovers(runID: runID)
        for _ in 0..<50 where !left.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            left = try await Self.leftovers(runID: runID)
        }
        #expect(left == [], "nothing of run \(runID) may survive its owner's kill -9")
        #expect(!FileManager.default.fileExists(atPath: "\(NetworkTopology.ownerDirectory)/\(runID)"))
    }

    @Test func staleNamespacesOfDeadOwnersAreSwept() async throws {
        try PcapTestSupport.requireRoot()
        let runID = Self.runID("s")
        let topology = try await NetworkTopology.create(NetworkTopologyConfiguration(runID: runID, reaper: false))
        // Pretend the owner was a process that has since died (and whose reaper died too).
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        let done = AsyncStream<Void>.makeStream()
        dead.terminationHandler = { _ in done.continuation.finish() }
        try dead.run()
        for await _ in done.stream {}
        try "\(dead.processIdentifier)\n".write(toFile: "\(NetworkTopology.ownerDirectory)/\(runID)", atomically: true, encoding: .utf8)

        let swept = await NetworkTopology.sweepStale()
        #expect(Set(swept).isSuperset(of: [topology.cloudNamespace] + topology.lanNamespaces))
        #expect(try await Self.leftovers(runID: runID) == [])
    }

    @Test(arguments: ["", "has-dash", "../etc", String(repeating: "x", count: 25)])
    func badRunIDsAreRefused(runID: String) async {
        do {
            _ = try await NetworkTopology.create(NetworkTopologyConfiguration(runID: runID))
            Issue.record("run ID '\(runID)' was accepted")
        } catch let error as NetworkTopologyError {
            #expect(error.description.contains("run ID"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func lanCountIsChecked() async {
        await #expect(throws: NetworkTopologyError.self) {
            _ = try await NetworkTopology.create(NetworkTopologyConfiguration(runID: "ok", lanCount: 0))
        }
    }
}
