import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a child process with `posix_spawn`, not Foundation's `Process`.
///
/// Swift 6.3.1's `Process.run()` on Linux copies all 256 bytes of `d_name` for every entry
/// of `/proc/self/fd`; when an entry ends glibc's readdir buffer next to an unmapped page it
/// crashes the whole test process (SIGSEGV in memcpy; swift-corelibs-foundation PR #5472,
/// fixed after 6.3.1). The simulator's commands (`ip netns`, …) and the test suite's
/// hundreds of real peers run to completion through this instead. The child gets stdin from /dev/null, stdout and
/// stderr into files, no descriptor but those, and an empty signal mask (Swift's threads
/// block SIGINT and SIGTERM, which a child would otherwise inherit). It is waited for by
/// polling `waitpid(WNOHANG)`, so no thread is ever blocked on it.
package enum Spawn {
    package struct Failed: Error, CustomStringConvertible {
        package var description: String
    }

    /// Runs `path` with `arguments` to its end; returns the exit status (128 + signal when
    /// it was killed by one).
    package static func run(
        _ path: String, _ arguments: [String], environment: [String: String] = [:], stdoutPath: String, stderrPath: String
    ) async throws -> Int32 {
        let pid = try self.start(path, arguments, environment: environment, stdoutPath: stdoutPath, stderrPath: stderrPath)
        return await self.wait(pid)
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    static func start(_ path: String, _ arguments: [String], environment: [String: String], stdoutPath: String, stderrPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if stderrPath == stdoutPath {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        // glibc ≥ 2.34 has it; the Glibc module does not import it (a GNU extension).
        guard let closeFrom = Self.addCloseFrom else { throw Failed(description: "this libc has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or newer)") }
        _ = closeFrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { $1 }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let result = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                posix_spawn(&pid, path, &actions, &attributes, argvBuffer.baseAddress!, envpBuffer.baseAddress!)
            }
        }
        guard result == 0 else { throw Failed(description: "cannot start \(path): \(String(cString: strerror(result)))") }
        return pid
    }

    /// Waits for `pid` to end without blocking a thread.
    static func wait(_ pid: pid_t) async -> Int32 {
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { return -1 }
            if Task.isCancelled {
                // A cancelled test does not leave its child behind.
                kill(pid, SIGKILL)
                usleep(1000)
            } else {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
