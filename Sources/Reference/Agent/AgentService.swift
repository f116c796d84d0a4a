import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The workstation daemon (`printplane agent run`): checks in at start, whenever a user
/// logs in, and when the server's `next_checkin_seconds` comes; obeys `Retry-After`;
/// backs off with full jitter on errors; drains the outbox; and stops with a clear log
/// line when the server refuses its credential, rather than hammering it.
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
            if (try? await self.agent.environment.outbox.depth()) ?? 0 > 0 {
                let result = await self.agent.uploadOutbox()
                if result.accepted + result.duplicates + result.parked > 0 {
                    self.logger.info("job metadata uploaded", metadata: [
                        "printplane.jobs.accepted": "\(result.accepted)", "printplane.jobs.duplicates": "\(result.duplicates)",
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
}
