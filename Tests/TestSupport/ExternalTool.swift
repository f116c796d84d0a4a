import Foundation
import Sim
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs real peers (ldap-utils, slapd) with a hard timeout, so a hung tool fails the test
/// instead of hanging it. A missing tool fails loudly with the command that installs it.
package enum ExternalTool {
    package struct Output {
        package var status: Int32
        package var stdout: String
        package var stderr: String
    }

    package struct Missing: Error, CustomStringConvertible {
        package var description: String
    }

    package static let packages = ["setpriv": "util-linux", "tshark": "tshark", "ip": "iproute2", "openssl": "openssl", "curl": "curl", "ldapsearch": "ldap-utils", "ldapwhoami": "ldap-utils", "ldapexop": "ldap-utils", "slapd": "slapd", "slapadd": "slapd"]

    package static func path(of tool: String) throws -> String {
        for directory in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"] {
            let candidate = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Missing(description: "\(tool) is not installed; install it with: apt-get install -y \(packages[tool] ?? tool) (or run scripts/bootstrap.sh)")
    }

    /// Starts a long-running `process` (a daemon a test talks to) from a fresh thread whose
    /// signal mask is empty. Swift concurrency's threads (libdispatch workers) block SIGTERM,
    /// and a spawned child inherits the mask of the thread that spawned it: a daemon started
    /// from a task would never see the signal that stops it.
    package static func startWithSignalsUnblocked(_ process: Process) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                var empty = sigset_t()
                sigemptyset(&empty)
                pthread_sigmask(SIG_SETMASK, &empty, nil)
                do {
                    try process.run()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    /// Runs `tool` with `arguments`, killed after `timeout` seconds.
    package static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:], timeout: Int = 30) async throws -> Output {
        let executable = try self.path(of: tool)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let stdoutURL = directory.appendingPathComponent("stdout")
        let stderrURL = directory.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let status = try await Spawn.run(
            "/usr/bin/timeout", ["--kill-after=5", String(timeout), executable] + arguments, environment: environment,
            stdoutPath: stdoutURL.path, stderrPath: stderrURL.path)
        let stdout = String(decoding: (try? Data(contentsOf: stdoutURL)) ?? Data(), as: UTF8.self)
        let stderr = String(decoding: (try? Data(contentsOf: stderrURL)) ?? Data(), as: UTF8.self)
        if status == 124 { Issue.record("\(tool) timed out after \(timeout)s: \(stderr)") }
        return Output(status: status, stdout: stdout, stderr: stderr)
    }
}

/// Reads `ldapsearch -LLL -o ldif-wrap=no` output into entries (DN → attribute → values).
package enum LDIFReader {
    package struct Entry: Equatable {
        package var dn: String
        package var attributes: [String: [[UInt8]]]

        package init(dn: String, attributes: [String: [[UInt8]]]) {
            self.dn = dn
            self.attributes = attributes
        }
    }

    package static func entries(_ text: String) -> [Entry] {
        var entries: [Entry] = []
        for block in text.components(separatedBy: "\n\n") {
            var current: Entry?
            for line in block.split(separator: "\n") where !line.hasPrefix("#") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = String(line[..<colon])
                var rest = line[line.index(after: colon)...]
                var value: [UInt8]
                if rest.hasPrefix(":") {
                    rest = rest.dropFirst()
                    value = Array(Data(base64Encoded: rest.trimmingCharacters(in: .whitespaces)) ?? Data())
                } else {
                    value = Array(rest.drop(while: { $0 == " " }).utf8)
                }
                if name == "dn" {
                    current = Entry(dn: String(decoding: value, as: UTF8.self), attributes: [:])
                } else {
                    current?.attributes[name.lowercased(), default: []].append(value)
                }
            }
            if let current { entries.append(current) }
        }
        return entries
    }
}
