import Foundation
import Logging

/// Runs a `topology: namespaces` scenario (DESIGN.md §6): creates the `cloud` and `lan`
/// network namespaces joined by the `wan` veth link, runs this very binary inside the lan
/// namespace (where the agents, printers and AD live and the WAN is captured; the server
/// is started in the cloud namespace), then tears everything down. A reaper process and a
/// stale sweep remove the namespaces even after `kill -9` (see docs/pcap.md).
public enum TopologyLauncher {
    /// Runs the scenario file at `scenarioPath`; returns the exit status to use.
    public static func run(scenarioPath: String, executable: String, forwardedArguments: [String], logger: Logger) async -> Int32 {
        guard geteuid() == 0 else {
            FileHandle.standardError.write(Data("topology: namespaces needs root (CAP_NET_ADMIN and CAP_NET_RAW); run it as root or use topology: loopback\n".utf8))
            return SimExitCode.runError.rawValue
        }
        let runID = "sim" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let topology: NetworkTopology
        do {
            topology = try await NetworkTopology.create(NetworkTopologyConfiguration(runID: runID, lanCount: 1), logger: logger)
        } catch {
            FileHandle.standardError.write(Data("cannot create the network namespaces: \(error)\n".utf8))
            return SimExitCode.runError.rawValue
        }
        let lan = topology.lanNamespaces[0]
        FileHandle.standardOutput.write(Data("topology: \(topology.cloudNamespace) (server \(NetworkTopology.serverAddress)) ⇄ wan ⇄ \(lan) (agents, printers, AD)\n".utf8))
        let status = await self.inNamespace(lan, executable, ["sim", "run", scenarioPath, "--inside-topology", runID] + forwardedArguments)
        do {
            try await topology.tearDown()
        } catch {
            FileHandle.standardError.write(Data("could not remove the network namespaces of run \(runID): \(error); the next run sweeps them\n".utf8))
        }
        return status
    }

    /// Runs a command in a namespace with this terminal. Waits through `terminationHandler`
    /// (no thread blocked, no polling); cancellation (SIGINT/SIGTERM) interrupts the child,
    /// which then ends its own run cleanly.
    static func inNamespace(_ namespace: String, _ executable: String, _ arguments: [String]) async -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", namespace, executable] + arguments
        // The exit status, or nil when the child could not start or was killed by a signal.
        let status: Int32? = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                process.terminationHandler = { continuation.resume(returning: $0.terminationReason == .exit ? $0.terminationStatus : nil) }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    FileHandle.standardError.write(Data("cannot start the run inside \(namespace): \(error)\n".utf8))
                    continuation.resume(returning: nil)
                }
            }
        } onCancel: {
            if process.isRunning { process.interrupt() }
        }
        return status ?? SimExitCode.runError.rawValue
    }
}
