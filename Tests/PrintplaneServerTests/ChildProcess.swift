import Foundation
import Sim
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs a real peer (curl, Chromium through Selenium) as a child process with a hard
/// timeout, through the simulator's `ChildProcess` (posix_spawn, polled, output in a file), so
/// no thread of the (2-thread) cooperative pool is ever blocked on the child.
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
        let finished = try await Sim.ChildProcess.run(path, arguments, environment: environment, timeout: Int(timeout.components.seconds))
        if finished.status == 124 { Issue.record("\(path) did not finish within \(timeout)") }
        return Result(status: finished.status, output: finished.output)
    }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// A port nobody listens on right now, found by binding port 0 on 127.0.0.1.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failed(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw Failed(description: "bind() failed: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { throw Failed(description: "getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Set once from `terminationHandler` (a Foundation thread), read from tasks.
final class ExitFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    private var code: Int32?

    var isSet: Bool { self.lock.withLock { self.value } }
    /// The exit status, when ``set(status:)`` recorded one.
    var status: Int32? { self.lock.withLock { self.code } }
    func set() { self.lock.withLock { self.value = true } }
    func set(status: Int32) {
        self.lock.withLock {
            self.code = status
            self.value = true
        }
    }
}
