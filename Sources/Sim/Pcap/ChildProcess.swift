import Foundation

/// Runs a short-lived system command (`ip`, `sh`) and waits for it through
/// `terminationHandler`, so no cooperative-pool thread ever blocks on a child.
/// Output goes to a temporary file, never a pipe that could fill and stall the child.
public enum ChildProcess {
    /// What a finished command left behind.
    public struct Output: Sendable {
        /// The exit status (124 when the timeout killed it).
        public var status: Int32
        /// Standard output and standard error, interleaved.
        public var output: String
    }

    /// Runs `executable` with `arguments`, killed after `timeout` seconds (via coreutils `timeout`).
    public static func run(_ executable: String, _ arguments: [String], timeout: Int = 30) async throws -> Output {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("printplane-cmd-\(UUID().uuidString).log").path
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["--kill-after=5", String(timeout), executable] + arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        return Output(status: status, output: text)
    }
}
