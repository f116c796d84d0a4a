import Foundation
import Logging
import NIOConcurrencyHelpers
import PrintplaneCore
import ServiceLifecycle

/// The workstation daemon (`printplane agent run`): checks in at start, whenever a user
/// logs in, and when the server's `next_checkin_seconds` comes; obeys `Retry-After`;
/// backs off with full jitter on errors; drains the outbox (held-job registrations first)
/// and deletes expired held documents; keeps one release long-poll open and prints released
/// jobs the moment they are released; and stops with a clear log line when the server
/// refuses its credential, rather than hammering it.
public struct AgentService: Service {
    public let agent: Agent
    public let configuration: AgentConfiguration
    public let logins: LoginSignal
    let logger: Logger

    public init(agent: Agent, configuration: AgentConfiguration, logins: LoginSignal = LoginSignal(), logger: Logger) {
        self.agent = agent
        self.configuration = configuration
        self.logins = logins
        self.logger = logger
    }

    public func run() async throws {
        guard await self.agent.identity != nil else { throw AgentError.notEnrolled(self.configuration.stateDirectory) }
        let listener = LoginListener(path: self.configuration.socketPath, signal: self.logins, logger: self.logger)
        defer { try? FileManager.default.removeItem(atPath: self.configuration.socketPath) }
        // The check-in loop's verdict is kept apart from the group's error: when it ends the
        // group, the listener and upload loop are cancelled and may throw CancellationError
        // first, which must not hide a refused credential (or turn it into a clean exit).
        let refusal = NIOLockedValueBox<AgentError?>(nil)
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await listener.run() }
                    group.addTask { try await self.uploadLoop() }
                    group.addTask { try await self.releaseLoop() }
                    defer { group.cancelAll() }
                    do {
                        try await self.checkInLoop()
                    } catch let error as AgentError {
                        // Returning ends the group (the defer cancels the other loops).
                        refusal.withLockedValue { $0 = error }
                    }
                }
            }
        } catch {
            // Graceful shutdown cancels the loops; nothing is lost (the outbox is on disk).
            if !(error is CancellationError), refusal.withLockedValue({ $0 }) == nil { throw error }
        }
        if let refused = refusal.withLockedValue({ $0 }) { throw refused }
    }

    func checkInLoop() async throws {
        var machine = CheckInStateMachine(maximumDelay: self.configuration.maximumBackoff)
        var user = self.configuration.user ?? AgentDaemon.lastLogin(configuration: self.configuration)
        while !Task.isCancelled {
            let addresses = self.configuration.ipAddresses ?? AgentDaemon.localAddresses()
            let outcome = await self.agent.checkIn(user: user, ipAddresses: addresses)
            let level: Logger.Level = switch outcome {
            case .unchanged: .debug
            case .applied: .info
            default: .warning
            }
            self.logger.log(level: level, "check-in \(outcome.summary)", metadata: ["printplane.user": "\(user ?? "")"])
            switch machine.next(after: outcome, random: { Double.random(in: 0..<1) }) {
            case .stop(let reason):
                self.logger.critical("the server refused this agent's credential; stopping check-ins. Re-enroll with a new token.", metadata: ["printplane.reason": "\(reason)"])
                if case .refused(let code, let message) = outcome { throw AgentError.credentialRefused(reason: code, message: message) }
                return
            case .wait(let delay):
                await self.agent.scheduled(next: Date().addingTimeInterval(Double(delay.components.seconds)))
                if let login = await self.logins.next(timeout: delay) {
                    user = login
                    try? AgentDaemon.recordLogin(login, configuration: self.configuration)
                }
            }
        }
    }

    func uploadLoop() async throws {
        var failures = 0
        while !Task.isCancelled {
            var wait = self.configuration.uploadInterval
            await self.agent.expireHeldJobs()
            if await self.agent.pendingUploads() != 0 {
                let result = await self.agent.uploadOutbox()
                if result.accepted + result.duplicates + result.parked + result.registered > 0 {
                    self.logger.info("job metadata uploaded", metadata: [
                        "printplane.jobs.accepted": "\(result.accepted)", "printplane.jobs.duplicates": "\(result.duplicates)",
                        "printplane.held.registered": "\(result.registered)",
                        "printplane.jobs.parked": "\(result.parked)", "printplane.outbox.depth": "\(result.remaining)",
                    ])
                }
                switch result.stoppedBy {
                case .none:
                    failures = 0
                case .retryAfter(let seconds):
                    failures += 1
                    wait = .milliseconds(Int64(Double(seconds) * (1 + Double.random(in: 0..<1)) * 1000))
                case .refused(let reason, _):
                    self.logger.critical("the server refused this agent's credential; job metadata stays in the outbox", metadata: ["printplane.reason": "\(reason)"])
                    return
                default:
                    failures += 1
                    var machine = CheckInStateMachine(baseDelay: .seconds(1), maximumDelay: self.configuration.maximumBackoff)
                    for _ in 0..<failures { _ = machine.next(after: .failed(""), random: { 0 }) }
                    wait = max(.milliseconds(200), machine.backoff(random: { Double.random(in: 0..<1) }))
                    self.logger.warning("outbox upload failed; will retry", metadata: ["printplane.outbox.depth": "\(result.remaining)", "printplane.retry_in": "\(wait)"])
                }
            }
            try await Task.sleep(for: min(wait, self.configuration.uploadInterval * (failures == 0 ? 1 : 20)))
        }
    }

    /// Keeps one release long-poll open. A release is printed as soon as the server answers;
    /// errors back off with full jitter (as check-ins do), `503`/`429` wait out `Retry-After`,
    /// and a refused credential ends the loop (the check-in loop stops the daemon). If the
    /// server keeps announcing the same jobs (their records have not reached it), it backs off
    /// too rather than spin.
    func releaseLoop() async throws {
        var machine = CheckInStateMachine(baseDelay: .seconds(1), maximumDelay: self.configuration.maximumBackoff)
        var lastAnnounced = Set<JobID>()
        let seconds = min(30, max(1, self.configuration.releaseWait))
        while !Task.isCancelled {
            let wait: Duration
            let asked = ContinuousClock.now
            switch await self.agent.pollReleases(wait: seconds) {
            case .none:
                lastAnnounced = []
                // An empty answer long before the wait was up (a server shutting down answers
                // at once) is not a reason to ask again at once.
                guard ContinuousClock.now - asked < .seconds(seconds) / 2 else {
                    machine = CheckInStateMachine(baseDelay: .seconds(1), maximumDelay: self.configuration.maximumBackoff)
                    continue
                }
                wait = Self.delay(machine.next(after: .failed("answered early"), random: { Double.random(in: 0..<1) }), minimum: .milliseconds(500))
            case .pending(let pending):
                let announced = Set(pending.releases.map(\.job.jobID) + pending.cancelled.map(\.jobID))
                await self.agent.handle(pending)
                if announced != lastAnnounced {
                    machine = CheckInStateMachine(baseDelay: .seconds(1), maximumDelay: self.configuration.maximumBackoff)
                    lastAnnounced = announced
                    continue
                }
                // The same jobs again: their records are not through yet; upload, then wait.
                _ = await self.agent.uploadOutbox()
                wait = Self.delay(machine.next(after: .failed("announced again"), random: { Double.random(in: 0..<1) }), minimum: .milliseconds(500))
            case .retryAfter(let seconds):
                wait = Self.delay(machine.next(after: .retryAfter(seconds), random: { Double.random(in: 0..<1) }), minimum: .seconds(1))
            case .refused(let reason, _):
                self.logger.warning("release long-poll refused; releases stop until the agent is enrolled again", metadata: ["printplane.reason": "\(reason)"])
                return
            case .failed(let detail):
                wait = Self.delay(machine.next(after: .failed(detail), random: { Double.random(in: 0..<1) }), minimum: .milliseconds(200))
                self.logger.debug("release long-poll failed; will retry", metadata: ["printplane.error": "\(detail)", "printplane.retry_in": "\(wait)"])
            }
            try await Task.sleep(for: wait)
        }
    }

    private static func delay(_ action: CheckInStateMachine.Action, minimum: Duration) -> Duration {
        if case .wait(let duration) = action { return max(minimum, duration) }
        return minimum
    }
}
