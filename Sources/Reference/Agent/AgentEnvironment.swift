import Logging
import PrintplaneCore

/// Everything an agent touches outside itself (DESIGN.md §1, principle 1). The daemon
/// plugs in files, SQLite and a TLS client; the simulator plugs in memory stores and a
/// shared connection pool, and runs the same ``Agent`` logic.
public struct AgentEnvironment: Sendable {
    public var http: any AgentHTTPTransport
    public var clock: any AgentClock
    public var drivers: any DriverStore
    public var installer: any PrinterInstaller
    public var printers: any PrinterTransport
    public var outbox: any OutboxStorage
    public var spool: any JobSpool
    public var state: any AgentStateStore
    public var observer: any AgentObserver
    public var logger: Logger

    public init(
        http: any AgentHTTPTransport, clock: any AgentClock, drivers: any DriverStore, installer: any PrinterInstaller,
        printers: any PrinterTransport, outbox: any OutboxStorage, spool: any JobSpool, state: any AgentStateStore,
        observer: any AgentObserver = SilentAgentObserver(), logger: Logger
    ) {
        self.http = http
        self.clock = clock
        self.drivers = drivers
        self.installer = installer
        self.printers = printers
        self.outbox = outbox
        self.spool = spool
        self.state = state
        self.observer = observer
        self.logger = logger
    }
}

/// Hooks for measurement: the simulator records latencies and bytes through these.
public protocol AgentObserver: Sendable {
    /// A driver download from one source ended (`error` nil on success).
    func driverDownload(sha256: String, source: String, bytes: Int64, duration: Duration, error: String?)
    /// The server asked the agent to come back later.
    func retryAfter(seconds: Int, route: String)
    /// A release of a held job ended with this record (printed, or failed with why), whichever
    /// way it arrived (long-poll or check-in).
    func releaseHandled(_ record: JobRecord)
}

extension AgentObserver {
    public func releaseHandled(_ record: JobRecord) {}
}

/// The daemon's observer: logging already says what happened.
public struct SilentAgentObserver: AgentObserver {
    public init() {}
    public func driverDownload(sha256: String, source: String, bytes: Int64, duration: Duration, error: String?) {}
    public func retryAfter(seconds: Int, route: String) {}
}
