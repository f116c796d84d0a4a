import Foundation
import Logging

/// How `printplane sim run` runs a scenario. The CLI maps flags onto this; tests build it.
public struct SimRunConfiguration: Sendable {
    public var scenario: Scenario
    /// Where `report.json` and `report.html` go (created if missing).
    public var reportDirectory: String
    /// The `printplane` binary, started as the embedded server's child process.
    public var executablePath: String
    /// Scratch space for the embedded server's data; a fresh temporary directory if nil.
    public var workDirectory: String?
    /// Live progress in place on a terminal, periodic lines otherwise.
    public var isTTY: Bool
    /// Where progress and the summary go (standard output by default).
    public var output: @Sendable (String) -> Void
    /// Also write every captured packet here (pcap format, for tshark/Wireshark).
    public var pcapOutput: String?
    /// The most operations in flight at once; arrivals beyond it are counted as dropped.
    public var maxInFlight: Int = 4_000
    /// Concurrent connections the shared HTTP pool may open to the server. 64 measured
    /// better than 1,000 for 10,000 agents on 2 cores (TLS handshakes and buffers cost the
    /// same CPU the server needs): enroll p99 6.6 s vs 31.5 s.
    public var httpConnections: Int = 64
    /// Set when this process runs inside the lan namespace of a topology-mode run (see
    /// ``TopologyLauncher``): the server is in the `cloud` namespace at 10.213.0.1, and the
    /// capture is on the WAN link.
    public var topologyRunID: String?

    public init(scenario: Scenario, reportDirectory: String, executablePath: String, isTTY: Bool = false, output: @escaping @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) }) {
        self.scenario = scenario
        self.reportDirectory = reportDirectory
        self.executablePath = executablePath
        self.isTTY = isTTY
        self.output = output
    }
}
