import Foundation

/// Runs a short-lived system command (`ip`, `sh`) through ``Spawn`` (posix_spawn, not
/// Foundation's `Process`), so no cooperative-pool thread ever blocks on a child.
/// Output goes to a temporary file, never a pipe that could fill and stall the child.
public enum ChildProcess {
    /// What a finished command left behind.
    public struct Output: Sendable {
        /// The exit status (124 when the timeout killed it).
        public var status: Int32
        /// Standard output and standard error, interleaved.
        public var output: String
    }

    /// Runs `executable` with `arguments` (and `environment` added to this process's), killed
    /// after `timeout` seconds (via coreutils `timeout`).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Int = 30) async throws -> Output {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("printplane-cmd-\(UUID().uuidString).log").path
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let status = try await Spawn.run(
            "/usr/bin/timeout", ["--kill-after=5", String(timeout), executable] + arguments, environment: environment, stdoutPath: path, stderrPath: path)
        let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        return Output(status: status, output: text)
    }
}
