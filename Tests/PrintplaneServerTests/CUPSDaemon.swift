import Foundation
import PrintplaneTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway CUPS scheduler for the import tests (a print server nobody here wrote):
/// `cupsd -f` with its own `cupsd.conf` and `cups-files.conf` in a temporary directory,
/// listening on a free 127.0.0.1 port, with queues added by the real `lpadmin`.
///
/// cupsd must start as root (it runs filters as `lp`), so as another user the fixture fails
/// with the reason. It runs under `timeout` and is always stopped by ``with(_:)``: SIGTERM,
/// which also makes it write `printers.conf`.
final class CUPSDaemon: @unchecked Sendable {
    static let lifetime = 600
    let directory: URL
    let port: Int
    private let process: Process
    private let exit: ExitFlag

    var url: String { "ipp://127.0.0.1:\(self.port)" }
    var serverRoot: URL { self.directory.appendingPathComponent("root") }

    private init(directory: URL, port: Int, process: Process, exit: ExitFlag) {
        self.directory = directory
        self.port = port
        self.process = process
        self.exit = exit
    }

    static func with<Result>(_ body: (CUPSDaemon) async throws -> Result) async throws -> Result {
        let daemon = try await start()
        do {
            let result = try await body(daemon)
            await daemon.stop()
            try? FileManager.default.removeItem(at: daemon.directory)
            return result
        } catch {
            await daemon.stop()
            try? FileManager.default.removeItem(at: daemon.directory)
            throw error
        }
    }

    static func start() async throws -> CUPSDaemon {
        try ChildProcess.require("/usr/sbin/cupsd", install: "apt-get install -y cups-daemon")
        try ChildProcess.require("/usr/sbin/lpadmin", install: "apt-get install -y cups-client")
        guard geteuid() == 0 else {
            Issue.record("cupsd starts only as root (it runs its filters as lp); run the import interop tests as root, as CI does")
            throw CancellationError()
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-cupsd-\(UUID().uuidString)")
        for sub in ["root", "spool", "cache", "state", "log"] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        var lastLog = ""
        for _ in 0..<3 {
            let port = try ChildProcess.freePort()
            try Self.configuration(port: port).write(to: directory.appendingPathComponent("root/cupsd.conf"), atomically: true, encoding: .utf8)
            try Self.files(directory).write(to: directory.appendingPathComponent("root/cups-files.conf"), atomically: true, encoding: .utf8)
            let log = directory.appendingPathComponent("cupsd-\(port).out")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let output = try FileHandle(forWritingTo: log)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = [
                "--kill-after=5", String(lifetime), "/usr/sbin/cupsd", "-f",
                "-c", directory.appendingPathComponent("root/cupsd.conf").path, "-s", directory.appendingPathComponent("root/cups-files.conf").path,
            ]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = output
            process.standardError = output
            let exit = ExitFlag()
            process.terminationHandler = { _ in exit.set() }
            try await ExternalTool.startWithSignalsUnblocked(process)
            try? output.close()
            let daemon = CUPSDaemon(directory: directory, port: port, process: process, exit: exit)
            if try await daemon.waitUntilAnswering(timeout: .seconds(20)) { return daemon }
            await daemon.stop()
            lastLog = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
                + String(decoding: (try? Data(contentsOf: directory.appendingPathComponent("log/error_log"))) ?? Data(), as: UTF8.self)
        }
        try? FileManager.default.removeItem(at: directory)
        throw ChildProcess.Failed(description: "cupsd did not start: \(lastLog)")
    }

    /// `lpadmin -h 127.0.0.1:PORT arguments…`; fails the test with its output if it fails.
    func lpadmin(_ arguments: [String]) async throws {
        let result = try await ChildProcess.run("/usr/sbin/lpadmin", ["-h", "127.0.0.1:\(self.port)"] + arguments, timeout: .seconds(60))
        guard result.status == 0 else { throw ChildProcess.Failed(description: "lpadmin \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.output)") }
    }

    /// SIGTERM (cupsd writes its configuration files as it exits), waiting for the exit.
    func stop() async {
        if self.process.isRunning { kill(self.process.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(15)
        while !self.exit.isSet, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !self.exit.isSet {
            kill(self.process.processIdentifier, SIGKILL)
            Issue.record("cupsd on port \(self.port) ignored SIGTERM and was killed")
        }
    }

    private func waitUntilAnswering(timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if self.exit.isSet { return false }
            let probe = try await ChildProcess.run("/usr/bin/lpstat", ["-h", "127.0.0.1:\(self.port)", "-r"], timeout: .seconds(10))
            if probe.status == 0, probe.output.contains("scheduler is running") { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    private static func configuration(port: Int) -> String {
        """
        Listen 127.0.0.1:\(port)
        Browsing No
        LogLevel warn
        DefaultAuthType None
        WebInterface No
        <Location />
          Order allow,deny
          Allow from 127.0.0.1
        </Location>
        <Location /admin>
          Order allow,deny
          Allow from 127.0.0.1
        </Location>
        <Policy default>
          JobPrivateAccess default
          JobPrivateValues default
          SubscriptionPrivateAccess default
          SubscriptionPrivateValues default
          <Limit All>
            Order deny,allow
          </Limit>
        </Policy>

        """
    }

    private static func files(_ directory: URL) -> String {
        """
        ServerRoot \(directory.appendingPathComponent("root").path)
        RequestRoot \(directory.appendingPathComponent("spool").path)
        CacheDir \(directory.appendingPathComponent("cache").path)
        StateDir \(directory.appendingPathComponent("state").path)
        AccessLog \(directory.appendingPathComponent("log/access_log").path)
        ErrorLog \(directory.appendingPathComponent("log/error_log").path)
        PageLog \(directory.appendingPathComponent("log/page_log").path)
        User lp
        Group lp
        SystemGroup root

        """
    }
}
