import Foundation
import Testing

/// Runs a real peer (curl, Chromium through Selenium) as a child process with a hard
/// timeout. It waits through `terminationHandler` and collects output in a file, so no
/// thread of the (2-thread) cooperative pool is ever blocked on the child.
enum ChildProcess {
    struct Result {
        var status: Int32
        var output: String
    }

    /// Fails the test with the install command unless `path` is executable.
    static func require(_ path: String, install: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            Issue.record("\(path) is missing: run `bash scripts/bootstrap.sh` (or `\(install)`)")
            throw CancellationError()
        }
    }

    /// Runs `path` with `arguments`, killed after `timeout`; stdout and stderr together.
    static func run(_ path: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(120)) async throws -> Result {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("printplane-child-\(UUID().uuidString).log").path
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["--kill-after=5", String(timeout.components.seconds), path] + arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = output
        process.standardError = output
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
        let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
        if status == 124 { Issue.record("\(path) did not finish within \(timeout)") }
        return Result(status: status, output: text)
    }
}
