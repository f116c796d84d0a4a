import Foundation
import Logging
import PrintplaneCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The network namespaces of a topology-mode run: `pp-<run>-cloud` holding the server and
/// `pp-<run>-lan<i>` holding agents and printers, each lan joined to the cloud by a veth
/// "WAN" link. Addresses live only inside these namespaces, all in 10.213.0.0/16:
///
/// - the server address 10.213.0.1/32 on the cloud's `lo`;
/// - lan i's link: 10.213.(i+1).0/24, lan side `wan` = 10.213.(i+1).2, cloud side
///   `wan<i>` = 10.213.(i+1).1 (lan i's default route);
/// - more lan hosts (agents, printers) via `addAddress(_:lan:)`, inside 10.213.(i+1).0/24.
///
/// The veth ends are created directly inside the namespaces, so nothing ever appears in
/// the host's `ip link`. Nothing is left behind after a crash: a reaper child (a `/bin/sh`
/// that ignores SIGINT/SIGTERM) blocks reading a pipe only this process can write to, and
/// deletes every `pp-<run>-*` namespace when that pipe closes, which the kernel does when
/// this process dies, however it dies. `sweepStale()` also removes namespaces whose owner
/// is gone, for the case where even the reaper was killed.
public final class NetworkTopology: Sendable {
    /// Every namespace this type creates starts with it.
    public static let namespacePrefix = "pp-"
    /// Where each run records its owner's PID, so a later sweep can tell stale namespaces.
    public static let ownerDirectory = "/run/printplane/netns"
    /// The server's address inside the cloud namespace.
    public static let serverAddress = IPAddress("10.213.0.1")!
    /// The lan-side name of the WAN veth (capture on it from inside the lan namespace).
    public static let wanInterface = "wan"

    /// The run ID and lan count it was built with.
    public let configuration: NetworkTopologyConfiguration
    private let logger: Logger
    private let reaperPipe: Mutex<Int32?>
    private let reaperProcess: Mutex<Process?>

    private init(configuration: NetworkTopologyConfiguration, logger: Logger, reaperPipe: Int32?, reaperProcess: Process?) {
        self.configuration = configuration
        self.logger = logger
        self.reaperPipe = Mutex(reaperPipe)
        self.reaperProcess = Mutex(reaperProcess)
    }

    /// `pp-<run>-cloud`.
    public var cloudNamespace: String { Self.namespace(runID: configuration.runID, suffix: "cloud") }
    /// `pp-<run>-lan0`, `pp-<run>-lan1`, ….
    public var lanNamespaces: [String] { (0..<configuration.lanCount).map { Self.namespace(runID: configuration.runID, suffix: "lan\($0)") } }
    /// Lan i's own address on its `wan` link.
    public func lanAddress(_ lan: Int) -> IPAddress { IPAddress("10.213.\(lan + 1).2")! }
    /// The cloud's address on lan i's link (lan i's gateway).
    public static func gatewayAddress(_ lan: Int) -> IPAddress { IPAddress("10.213.\(lan + 1).1")! }
    /// The cloud-side name of lan i's veth.
    public func cloudInterface(_ lan: Int) -> String { "wan\(lan)" }

    /// Builds the namespaces, links, addresses and routes. Sweeps stale namespaces of dead
    /// owners first. On failure everything already made is deleted again.
    public static func create(_ configuration: NetworkTopologyConfiguration, logger: Logger = Logger(label: "printplane.sim.netns")) async throws -> NetworkTopology {
        let runID = configuration.runID
        guard !runID.isEmpty, runID.count <= 24, runID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw NetworkTopologyError.invalidConfiguration("run ID '\(runID)' must be 1-24 letters, digits or '_'")
        }
        guard (1...200).contains(configuration.lanCount) else {
            throw NetworkTopologyError.invalidConfiguration("lan count \(configuration.lanCount) is outside 1...200")
        }
        guard geteuid() == 0 else {
            throw NetworkTopologyError.permissionDenied("not running as root (euid \(geteuid()))")
        }
        await sweepStale(logger: logger)
        try FileManager.default.createDirectory(atPath: ownerDirectory, withIntermediateDirectories: true)
        try "\(getpid())\n".write(toFile: "\(ownerDirectory)/\(runID)", atomically: true, encoding: .utf8)
        var pipe: Int32?
        var process: Process?
        if configuration.reaper { (pipe, process) = try startReaper(runID: runID) }
        let topology = NetworkTopology(configuration: configuration, logger: logger, reaperPipe: pipe, reaperProcess: process)
        do {
            try await topology.build()
        } catch {
            try? await topology.tearDown()
            throw error
        }
        logger.info("network topology up", metadata: [
            "printplane.netns.cloud": "\(topology.cloudNamespace)",
            "printplane.netns.lans": "\(topology.lanNamespaces.joined(separator: ","))",
        ])
        return topology
    }

    /// Runs `command` inside `namespace` (via `ip netns exec`) and waits for it.
    public func run(_ command: [String], in namespace: String, timeout: Int = 30) async throws -> ChildProcess.Output {
        try await ChildProcess.run(try Self.ip(), ["netns", "exec", namespace] + command, timeout: timeout)
    }

    /// Gives lan `lan` another address (an agent or printer) inside its 10.213.(lan+1).0/24.
    public func addAddress(_ address: IPAddress, lan: Int) async throws {
        guard lanNamespaces.indices.contains(lan) else {
            throw NetworkTopologyError.invalidConfiguration("lan \(lan) does not exist (0..<\(configuration.lanCount))")
        }
        guard address.bytes.count == 4, address.bytes[0] == 10, address.bytes[1] == 213, Int(address.bytes[2]) == lan + 1,
              address.bytes[3] > 2, address.bytes[3] < 255
        else {
            throw NetworkTopologyError.invalidConfiguration("\(address) is not a free host address in lan \(lan)'s 10.213.\(lan + 1).0/24")
        }
        try await Self.ip(["-n", lanNamespaces[lan], "addr", "add", "\(address)/24", "dev", Self.wanInterface])
    }

    /// Deletes every namespace of this run (killing anything still running in them), and
    /// lets the reaper go. Idempotent.
    public func tearDown() async throws {
        try await Self.delete(runID: configuration.runID)
        if let fd = reaperPipe.withLock({ pipe -> Int32? in defer { pipe = nil }; return pipe }) { close(fd) }
        reaperProcess.withLock { $0 = nil }
        logger.info("network topology removed", metadata: ["printplane.netns.run": "\(configuration.runID)"])
    }

    /// Deletes namespaces `pp-<run>-*` whose owner process is gone (or unrecorded), and
    /// returns the names it deleted. Safe while other runs are live: their owners are alive.
    @discardableResult
    public static func sweepStale(logger: Logger = Logger(label: "printplane.sim.netns")) async -> [String] {
        guard let names = try? await namespaces() else { return [] }
        var staleRuns: Set<String> = []
        for name in names {
            guard let runID = runID(ofNamespace: name), !ownerIsAlive(runID: runID) else { continue }
            staleRuns.insert(runID)
        }
        var deleted: [String] = []
        for runID in staleRuns.sorted() {
            deleted += names.filter { Self.runID(ofNamespace: $0) == runID }
            try? await delete(runID: runID)
            logger.warning("removed stale network namespaces", metadata: ["printplane.netns.run": "\(runID)"])
        }
        return deleted
    }

    /// The names `ip netns list` shows.
    public static func namespaces() async throws -> [String] {
        let output = try await ChildProcess.run(try ip(), ["netns", "list"])
        guard output.status == 0 else { throw NetworkTopologyError.commandFailed(command: "ip netns list", output: output.output) }
        return output.output.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// Deletes every `pp-<runID>-*` namespace, killing processes still inside first.
    public static func delete(runID: String) async throws {
        var failures: [String] = []
        for name in try await namespaces() where Self.runID(ofNamespace: name) == runID {
            let pids = try await ChildProcess.run(try ip(), ["netns", "pids", name])
            for pid in pids.output.split(separator: "\n").compactMap({ pid_t($0.trimmingCharacters(in: .whitespaces)) }) where pid != getpid() {
                kill(pid, SIGKILL)
            }
            let result = try await ChildProcess.run(try ip(), ["netns", "delete", name])
            if result.status != 0 { failures.append("\(name): \(result.output)") }
        }
        try? FileManager.default.removeItem(atPath: "\(ownerDirectory)/\(runID)")
        if !failures.isEmpty {
            throw NetworkTopologyError.commandFailed(command: "ip netns delete", output: failures.joined(separator: "; "))
        }
    }

    private func build() async throws {
        let cloud = cloudNamespace
        try await Self.ip(["netns", "add", cloud])
        try await Self.ip(["-n", cloud, "link", "set", "lo", "up"])
        try await Self.ip(["-n", cloud, "addr", "add", "\(Self.serverAddress)/32", "dev", "lo"])
        for (lan, name) in lanNamespaces.enumerated() {
            try await Self.ip(["netns", "add", name])
            try await Self.ip(["-n", name, "link", "set", "lo", "up"])
            try await Self.ip(["link", "add", Self.wanInterface, "netns", name, "type", "veth", "peer", "name", cloudInterface(lan), "netns", cloud])
            try await Self.ip(["-n", name, "addr", "add", "\(lanAddress(lan))/24", "dev", Self.wanInterface])
            try await Self.ip(["-n", name, "link", "set", Self.wanInterface, "up"])
            try await Self.ip(["-n", cloud, "addr", "add", "\(Self.gatewayAddress(lan))/24", "dev", cloudInterface(lan)])
            try await Self.ip(["-n", cloud, "link", "set", cloudInterface(lan), "up"])
            try await Self.ip(["-n", name, "route", "add", "default", "via", "\(Self.gatewayAddress(lan))"])
        }
    }

    public static func namespace(runID: String, suffix: String) -> String { "\(namespacePrefix)\(runID)-\(suffix)" }

    /// `pp-<runID>-<suffix>` → runID; `nil` for names this type did not make.
    static func runID(ofNamespace name: String) -> String? {
        guard name.hasPrefix(namespacePrefix), let dash = name.lastIndex(of: "-") else { return nil }
        let start = name.index(name.startIndex, offsetBy: namespacePrefix.count)
        guard start < dash else { return nil }
        return String(name[start..<dash])
    }

    private static func ownerIsAlive(runID: String) -> Bool {
        guard let text = try? String(contentsOfFile: "\(ownerDirectory)/\(runID)", encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    private static func ip() throws -> String {
        for candidate in ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw NetworkTopologyError.invalidConfiguration("the `ip` command is missing: apt-get install -y iproute2")
    }

    private static func ip(_ arguments: [String]) async throws {
        let result = try await ChildProcess.run(try ip(), arguments)
        guard result.status == 0 else {
            if result.output.contains("Operation not permitted") {
                throw NetworkTopologyError.permissionDenied("ip \(arguments.joined(separator: " ")): \(result.output)")
            }
            throw NetworkTopologyError.commandFailed(command: "ip " + arguments.joined(separator: " "), output: result.output)
        }
    }

    /// Starts `/bin/sh` blocked on a close-on-exec pipe; returns the write end and the process.
    private static func startReaper(runID: String) throws -> (Int32, Process) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw NetworkTopologyError.commandFailed(command: "pipe", output: String(cString: strerror(errno)))
        }
        // Close-on-exec, so no other child (the server in the cloud namespace) holds the
        // write end open and keeps the reaper waiting after this process died.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let ip = try ip()
        let script = """
            trap '' INT TERM HUP
            read _
            for ns in $(\(ip) netns list | cut -d' ' -f1); do
              case "$ns" in
                \(namespacePrefix)\(runID)-*)
                  for p in $(\(ip) netns pids "$ns"); do kill -9 "$p"; done
                  \(ip) netns delete "$ns" ;;
              esac
            done
            rm -f \(ownerDirectory)/\(runID)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.standardInput = FileHandle(fileDescriptor: fds[0], closeOnDealloc: false)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[0])
        return (fds[1], process)
    }
}
