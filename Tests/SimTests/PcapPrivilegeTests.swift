import Foundation
import Sim
import PrintplaneTestSupport
import Testing

/// Without CAP_NET_RAW the verifier says so: status `skipped: needs CAP_NET_RAW`, no metrics
/// (so pcap thresholds cannot pass), and a non-zero exit from `printplane sim capture`.
struct PcapPrivilegeTests {
    @Test func withoutCapNetRawTheVerifierReportsSkipped() async throws {
        try PcapTestSupport.requireRoot()
        // The build directory may sit under /root (mode 0700), which nobody cannot enter:
        // run a link or copy of the binary from a world-readable temporary directory.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-priv-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let binary = directory + "/printplane"
        do {
            try FileManager.default.linkItem(atPath: try PcapTestSupport.printplaneBinary(), toPath: binary)
        } catch {
            try FileManager.default.copyItem(atPath: try PcapTestSupport.printplaneBinary(), toPath: binary)
        }
        // Drop to nobody: no capabilities at all, as an unprivileged user would run it.
        let output = try await ExternalTool.run("setpriv", [
            "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            binary, "sim", "capture", "--device", "lo", "--seconds", "1", "--server", "127.0.0.1",
        ])
        #expect(output.status == 2, "exit 2 means no capture happened: \(output.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(json["status"] as? String == "skipped: needs CAP_NET_RAW")
        #expect((json["metrics"] as? [String: Any])?.isEmpty == true)
    }

    @Test func asRootTheSameCommandCaptures() async throws {
        try PcapTestSupport.requireRoot()
        let binary = try PcapTestSupport.printplaneBinary()
        let output = try await ChildProcess.run(binary, [
            "sim", "capture", "--device", "lo", "--seconds", "1", "--server", "127.77.50.1:8443", "--filter", "net 127.77.50.0/24",
            "--log-level", "critical",
        ])
        #expect(output.status == 0, "\(output.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.output.utf8)) as? [String: Any])
        #expect(json["status"] as? String == "captured")
        let metrics = try #require(json["metrics"] as? [String: Double])
        #expect(metrics["pcap.print_packets_to_cloud"] == 0)
        #expect(metrics["pcap.dropped"] == 0)
        #expect(metrics.keys.contains("pcap.wan_bytes.agent_server"))
    }
}
