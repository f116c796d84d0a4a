import Foundation
import PrintplaneTestSupport
import Logging
import PostgresNIO
import ServiceLifecycle
import Testing

@testable import PrintplaneServer

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster for tests (DESIGN.md §7: the multi-instance store's real
/// peer): `initdb` in a temporary directory, then `postgres` in the foreground on a free
/// 127.0.0.1 port with password (SCRAM) authentication. As root, both run as the `postgres`
/// user, because PostgreSQL refuses to run as root.
///
/// The server runs under `timeout`, so a crashed test runner cannot leave it behind for more
/// than ``lifetime`` seconds, and ``with(_:)`` always stops it: SIGINT (a fast shutdown that
/// disconnects clients), SIGKILL after five seconds. Nothing blocks a thread on the child.
final class PostgresServer: @unchecked Sendable {
    static let user = "printplane"
    static let password = "pp-test-Secret!"
    static let lifetime = 900

    let directory: URL
    private(set) var port: Int
    private var process: Process
    private var exit: ExitFlag
    private let binaries: String

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    private init(directory: URL, port: Int, process: Process, exit: ExitFlag, binaries: String) {
        self.directory = directory
        self.port = port
        self.process = process
        self.exit = exit
        self.binaries = binaries
    }

    /// Starts a cluster, runs `body`, and stops the cluster whether `body` returned or threw.
    static func with<Result>(_ body: (PostgresServer) async throws -> Result) async throws -> Result {
        let server = try await start()
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// The newest installed PostgreSQL's `bin` directory, or a failure naming the package.
    static func binaryDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        for version in versions.reversed() where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/postgres") {
            return "\(root)/\(version)/bin"
        }
        throw Failed(description: "PostgreSQL is not installed; install it with: apt-get install -y postgresql (or run scripts/bootstrap.sh)")
    }

    static func start() async throws -> PostgresServer {
        let binaries = try binaryDirectory()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-postgres-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        do {
            try Self.password.write(to: directory.appendingPathComponent("pwfile"), atomically: true, encoding: .utf8)
            try Self.giveToPostgresUser(directory)
            let initdb = try await Self.run(
                binaries + "/initdb",
                ["-D", directory.appendingPathComponent("data").path, "-U", Self.user, "--auth=scram-sha-256",
                 "--pwfile=" + directory.appendingPathComponent("pwfile").path, "-E", "UTF8", "--no-sync"],
                in: directory, timeout: 120)
            guard initdb.status == 0 else { throw Failed(description: "initdb failed (\(initdb.status)): \(initdb.output)") }
            let server = PostgresServer(directory: directory, port: 0, process: Process(), exit: ExitFlag(), binaries: binaries)
            try await server.launch()
            return server
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Starts `postgres` on a fresh free port (retried: another process may take the port
    /// between our probe and postgres's bind) and waits until it answers a query.
    private func launch(samePort: Bool = false) async throws {
        var lastLog = ""
        for _ in 0..<(samePort ? 1 : 3) {
            let port = samePort ? self.port : try ChildProcess.freePort()
            let log = self.directory.appendingPathComponent("postgres-\(port).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            try Self.giveToPostgresUser(log)
            let process = try Self.process(
                self.binaries + "/postgres",
                ["-D", self.directory.appendingPathComponent("data").path, "-p", String(port), "-k", self.directory.path,
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=200"],
                in: self.directory, timeout: Self.lifetime, output: log)
            let exit = ExitFlag()
            process.terminationHandler = { _ in exit.set() }
            try await ExternalTool.startWithSignalsUnblocked(process)
            self.process = process
            self.exit = exit
            self.port = port
            if try await self.waitUntilAnswering(timeout: .seconds(30)) { return }
            await self.halt()
            lastLog = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        }
        throw Failed(description: "postgres did not start: \(lastLog)")
    }

    /// Stops the server (fast shutdown) and removes its files.
    func stop() async {
        await self.halt()
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// Starts the server again after ``halt()``, on the same port with the same data: the
    /// end of an outage.
    func resume() async throws {
        try await self.launch(samePort: true)
    }

    /// Stops the server, keeping its data, without starting it again.
    func halt() async {
        if self.process.isRunning { kill(self.process.processIdentifier, SIGINT) }
        let deadline = ContinuousClock.now + .seconds(10)
        while !self.exit.isSet, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !self.exit.isSet {
            kill(self.process.processIdentifier, SIGKILL)
            Issue.record("postgres on port \(self.port) ignored SIGINT and was killed")
        }
    }

    /// Settings for a new, empty database on this server.
    func createDatabase() async throws -> DatabaseLocation.PostgresSettings {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let settings = self.settings(database: "postgres")
        let logger = Logger(label: "printplane.test.postgres")
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: "127.0.0.1", port: self.port, username: settings.user, password: settings.password, database: "postgres", tls: .disable),
            id: 1, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        return self.settings(database: name)
    }

    func settings(database: String) -> DatabaseLocation.PostgresSettings {
        DatabaseLocation.PostgresSettings(host: "127.0.0.1", port: self.port, user: Self.user, password: Self.password, database: database, tlsMode: .disable)
    }

    /// `postgres://…` for `--database`, without the password (it goes in the environment).
    func url(database: String) -> String {
        "postgres://\(Self.user)@127.0.0.1:\(self.port)/\(database)?sslmode=disable"
    }

    private func waitUntilAnswering(timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        let logger = Logger(label: "printplane.test.postgres")
        while ContinuousClock.now < deadline {
            if self.exit.isSet { return false }
            if let connection = try? await PostgresConnection.connect(
                configuration: .init(host: "127.0.0.1", port: self.port, username: Self.user, password: Self.password, database: "postgres", tls: .disable),
                id: 0, logger: logger) {
                let answered = (try? await connection.query("SELECT 1", logger: logger).collect().count) == 1
                try? await connection.close()
                if answered { return true }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    // MARK: Processes

    private static var isRoot: Bool { geteuid() == 0 }

    private static func giveToPostgresUser(_ url: URL) throws {
        guard isRoot else { return }
        try FileManager.default.setAttributes([.ownerAccountName: "postgres", .groupOwnerAccountName: "postgres"], ofItemAtPath: url.path)
    }

    /// `executable arguments` as the postgres user (when root), under `timeout`.
    private static func process(_ executable: String, _ arguments: [String], in directory: URL, timeout: Int, output: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        let user = isRoot ? ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] : []
        process.arguments = ["--kill-after=5", String(timeout)] + user + [executable] + arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        return process
    }

    /// Runs a command to its end and returns its status and output; never blocks a thread.
    private static func run(_ executable: String, _ arguments: [String], in directory: URL, timeout: Int) async throws -> (status: Int32, output: String) {
        let output = directory.appendingPathComponent("run-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        try giveToPostgresUser(output)
        let process = try process(executable, arguments, in: directory, timeout: timeout, output: output)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return (status, String(decoding: (try? Data(contentsOf: output)) ?? Data(), as: UTF8.self))
    }
}

/// Runs a ``PostgresStore`` on a new database of `server` for the length of `body`.
func withPostgresStore<Result: Sendable>(_ server: PostgresServer, _ body: (PostgresStore) async throws -> Result) async throws -> Result {
    var logger = Logger(label: "printplane.test.postgres")
    logger.logLevel = .warning
    let store = try PostgresStore(settings: try await server.createDatabase(), logger: logger)
    let group = ServiceGroup(configuration: .init(services: [store], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body(store)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}
