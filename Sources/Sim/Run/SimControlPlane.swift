import Foundation
import Logging
import NIOCore
import NIOPosix
import PrintplaneServer
import ServiceLifecycle

/// The control plane a run talks to: the reference server as a child process (so the
/// scenario can `kill -9` it), in this process, or an external deployment.
public actor SimControlPlane {
    /// How to start `printplane server` as a child process.
    public struct ChildServer: Sendable {
        public var executable: String
        public var dataDirectory: String
        public var host: String
        public var checkInInterval: Int
        public var maxDownloads: Int
        /// The network namespace to start it in (topology mode), else this one.
        public var namespace: String?

        public init(executable: String, dataDirectory: String, host: String, checkInInterval: Int, maxDownloads: Int, namespace: String? = nil) {
            self.executable = executable
            self.dataDirectory = dataDirectory
            self.host = host
            self.checkInInterval = checkInInterval
            self.maxDownloads = maxDownloads
            self.namespace = namespace
        }
    }

    public enum Mode: Sendable {
        /// `printplane server` as a child, SQLite in its data directory.
        case child(ChildServer)
        /// An external server, given by URL, admin key and CA.
        case external(url: String, adminKey: String, caPEM: String)
    }

    public let mode: Mode
    private let logger: Logger
    private var process: Process?
    private var port: Int?
    public private(set) var kills = 0

    public init(mode: Mode, logger: Logger) {
        self.mode = mode
        self.logger = logger
    }

    /// `https://host:port`.
    public var url: String {
        switch self.mode {
        case .child(let server): "https://\(server.host):\(self.port ?? 0)"
        case .external(let url, _, _): url
        }
    }

    /// The host the agents see the cloud at (for the pcap verifier).
    public var host: String {
        switch self.mode {
        case .child(let server): server.host
        case .external(let url, _, _): URL(string: url)?.host ?? url
        }
    }

    public var serverPort: Int {
        switch self.mode {
        case .child: self.port ?? 0
        case .external(let url, _, _): URL(string: url)?.port ?? 443
        }
    }

    public var caPEM: String {
        get throws {
            switch self.mode {
            case .child(let server): return try String(contentsOfFile: "\(server.dataDirectory)/ca.pem", encoding: .utf8)
            case .external(_, _, let pem): return pem
            }
        }
    }

    public var adminKey: String {
        get throws {
            switch self.mode {
            case .child(let server): return try String(contentsOfFile: "\(server.dataDirectory)/admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            case .external(_, let key, _): return key
            }
        }
    }

    public func adminConfiguration() throws -> AdminClient.Configuration {
        AdminClient.Configuration(serverURL: self.url, adminKey: try self.adminKey, caPEM: try self.caPEM)
    }

    /// Runs `body` with an admin API client (a fresh connection each time, so it works
    /// across a server restart).
    public nonisolated func admin<T: Sendable>(_ body: (AdminClient) async throws -> T) async throws -> T {
        try await AdminClient.with(try await self.adminConfiguration(), body)
    }

    /// Starts the child (on the same port as before, after a kill) and waits until it accepts.
    public func start() async throws {
        guard case .child(let server) = self.mode else { return }
        let (directory, host) = (server.dataDirectory, server.host)
        // In a fresh cloud namespace every port is free; on loopback, ask the kernel.
        if self.port == nil { self.port = server.namespace == nil ? try await Self.freePort(host: host) : 8443 }
        let port = self.port!
        let process = Process()
        let arguments = [
            "server", "--data-dir", directory, "--listen", "\(host):\(port)", "--checkin-interval", String(server.checkInInterval),
            "--max-downloads", String(server.maxDownloads), "--log-level", "warning", "--exit-with-parent", String(getpid()),
        ]
        if let namespace = server.namespace {
            // `ip netns exec` execs the server, so it keeps this process as its parent.
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, server.executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: server.executable)
            process.arguments = arguments
        }
        let logPath = "\(directory)/../server.log"
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try log.seekToEnd()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                throw SimRunError("the embedded server exited at start (status \(process.terminationStatus)); see \(logPath)")
            }
            if FileManager.default.fileExists(atPath: "\(directory)/admin.key"), await Self.accepts(host: host, port: port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SimRunError("the embedded server did not start listening on \(host):\(port) within 60 s; see \(logPath)")
    }

    /// `kill -9`: no graceful shutdown, exactly as a crash.
    public func kill() async {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        self.process = nil
        self.kills += 1
    }

    /// Graceful stop (SIGTERM, then SIGKILL after 10 s).
    public func stop() async {
        guard let process, process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        self.process = nil
    }

    static func freePort(host: String) async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: host, port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        guard port > 0 else { throw SimRunError("cannot find a free port on \(host)") }
        return port
    }

    static func accepts(host: String, port: Int) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(.milliseconds(200)).connect(host: host, port: port).get()
            try await channel.close()
            return true
        } catch {
            return false
        }
    }
}

/// A run could not be carried out (as opposed to a threshold failing).
public struct SimRunError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
