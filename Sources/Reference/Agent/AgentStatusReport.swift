import Foundation
import PrintplaneCore

/// What `printplane agent status` shows: enrollment, last check-in, installed printers
/// and drivers, the outbox depth, and the held jobs waiting for release.
public struct AgentStatusReport: Codable, Sendable {
    /// A job in the local spool for pull printing.
    public struct Held: Codable, Sendable {
        /// Where it is: `registering` (the server does not know it yet) or `held` (registered,
        /// waiting for the user to release it at a printer).
        public enum State: String, Codable, Sendable {
            case registering
            case held
        }

        public var jobID: JobID
        public var documentName: String
        public var user: String
        public var pages: Int
        public var printer: String
        public var heldAt: Date
        public var expiresAt: Date
        public var state: State
        enum CodingKeys: String, CodingKey {
            case jobID = "job_id", documentName = "document_name", user, pages, printer, heldAt = "held_at", expiresAt = "expires_at", state
        }
    }

    public struct Printer: Codable, Sendable {
        public var name: String
        public var address: String
        public var port: Int
        public var `protocol`: PrinterProtocol
        public var queue: String?
        public var driver: String?
        public var driverSHA256: String?
        enum CodingKeys: String, CodingKey { case name, address, port, `protocol`, queue, driver, driverSHA256 = "driver_sha256" }
    }

    public var agentID: AgentID
    public var server: String
    public var hostname: String
    public var enrolledAt: Date
    public var lastCheckIn: Date?
    public var lastCheckInResult: String?
    public var nextCheckIn: Date?
    public var planETag: String?
    public var printers: [Printer]
    public var drivers: [String]
    public var outboxDepth: Int
    public var outboxParked: Int
    public var heldJobs: Int
    public var held: [Held]
    public var daemonRunning: Bool

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id", server, hostname, enrolledAt = "enrolled_at", lastCheckIn = "last_checkin"
        case lastCheckInResult = "last_checkin_result", nextCheckIn = "next_checkin", planETag = "plan_etag"
        case printers, drivers, outboxDepth = "outbox_depth", outboxParked = "outbox_parked", heldJobs = "held_jobs", held
        case daemonRunning = "daemon_running"
    }

    /// `held` is the spool's jobs; `unregistered` the ones whose registration is still pending.
    public init(identity: AgentIdentity, state: AgentState, drivers: [StoredDriver], outboxDepth: Int, parked: Int, held: [HeldJob], unregistered: Set<JobID>, daemonRunning: Bool) {
        self.agentID = identity.agentID
        self.server = identity.serverURL
        self.hostname = identity.hostname
        self.enrolledAt = identity.enrolledAt
        self.lastCheckIn = state.lastCheckIn
        self.lastCheckInResult = state.lastCheckInResult
        self.nextCheckIn = state.nextCheckIn
        self.planETag = state.planETag
        self.printers = state.installed.map { installed in
            let p = installed.printer
            let driver = p.driver.map { "\($0.manifest.manifest.name) \($0.manifest.manifest.version)" }
            return Printer(name: p.name, address: p.address, port: p.port, protocol: p.protocol, queue: p.queue, driver: driver, driverSHA256: installed.driverSHA256)
        }
        self.drivers = drivers.map { "\($0.sha256) \($0.size) bytes" }
        self.outboxDepth = outboxDepth
        self.outboxParked = parked
        self.heldJobs = held.count
        self.held = held.map { job in
            Held(
                jobID: job.record.jobID, documentName: job.record.documentName, user: job.record.user, pages: job.record.pages,
                printer: job.printerName, heldAt: job.heldAt, expiresAt: job.expiresAt,
                state: unregistered.contains(job.record.jobID) ? .registering : .held)
        }
        self.daemonRunning = daemonRunning
    }

    public var json: String {
        String(decoding: (try? WireCoding.makeEncoder().encode(self)) ?? Data(), as: UTF8.self)
    }

    public var text: String {
        let time = ISO8601DateFormatter()
        var lines = [
            "agent:         \(agentID) (\(hostname))",
            "server:        \(server)",
            "enrolled:      \(time.string(from: enrolledAt))",
            "daemon:        \(daemonRunning ? "running" : "not running")",
            "last check-in: \(lastCheckIn.map { time.string(from: $0) } ?? "never")\(lastCheckInResult.map { " (\($0))" } ?? "")",
            "next check-in: \(nextCheckIn.map { time.string(from: $0) } ?? "-")",
            "outbox:        \(outboxDepth) waiting\(outboxParked > 0 ? ", \(outboxParked) refused by the server (kept)" : "")",
            "held jobs:     \(heldJobs)",
        ]
        for job in held {
            let state = job.state == .held ? "held, registered: release it with `printplane release print`" : "held, not yet registered with the server"
            lines.append("  \(job.jobID)  \(job.documentName)  \(job.pages) page(s)  for \(job.user)  expires \(time.string(from: job.expiresAt))  \(state)")
        }
        lines.append("printers:      \(printers.count)")
        for printer in printers {
            lines.append("  \(printer.name)  \(printer.protocol.rawValue)://\(printer.address):\(printer.port)\(printer.queue.map { "/\($0)" } ?? "")  driver: \(printer.driver ?? "none")\(printer.driverSHA256.map { " (\($0.prefix(12))…)" } ?? "")")
        }
        lines.append("drivers:       \(drivers.count)")
        for driver in drivers { lines.append("  \(driver)") }
        return lines.joined(separator: "\n")
    }
}
