import Foundation
import NIOConcurrencyHelpers
import PrintplaneCore

/// The agents waiting on this instance for releases (`GET /api/v1/agent/releases?wait=N`), and
/// the bell that wakes them.
///
/// A long-poll registers a ``Waiter`` *before* it reads the store, so a release committed
/// between that read and the wait still rings it (no lost wake-up). A release made through this
/// instance rings its agent's waiters as soon as it is committed; one made through another
/// instance rings them through the store's ``ReleaseFeed`` (PostgreSQL `LISTEN/NOTIFY`). A ring
/// only means "read again": the store is the truth, so a spurious ring costs one indexed read.
/// The number of waiters is bounded; past the bound a long-poll gets 503 + Retry-After.
final class ReleaseHub: Sendable {
    /// One long-poll's place in the hub.
    final class Waiter: Sendable {
        private enum State {
            case idle
            case rung
            case waiting(CheckedContinuation<Void, Never>)
        }

        let agentID: AgentID
        private let state = NIOLockedValueBox(State.idle)

        init(agentID: AgentID) {
            self.agentID = agentID
        }

        /// Rings the bell: wakes the wait, or makes the next one return at once.
        func ring() {
            let waiting = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                if case .waiting(let continuation) = state {
                    state = .idle
                    return continuation
                }
                state = .rung
                return nil
            }
            waiting?.resume()
        }

        /// Waits until rung (consuming the ring) or until `deadline`; returns whether it was rung.
        func wait(until deadline: ContinuousClock.Instant) async -> Bool {
            await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    await self.waitForRing()
                    return !Task.isCancelled
                }
                group.addTask {
                    try? await Task.sleep(until: deadline)
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
        }

        private func waitForRing() async {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLockedValue { state -> Bool in
                        switch state {
                        case .rung:
                            state = .idle
                            return true
                        case .idle:
                            if Task.isCancelled { return true }
                            state = .waiting(continuation)
                            return false
                        case .waiting:
                            return true  // one wait at a time; not reached
                        }
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                let waiting = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                    guard case .waiting(let continuation) = state else { return nil }
                    state = .idle
                    return continuation
                }
                waiting?.resume()
            }
        }
    }

    private struct State {
        var waiters: [AgentID: [ObjectIdentifier: Waiter]] = [:]
        var count = 0
        var shuttingDown = false
    }

    private let limit: Int
    private let state = NIOLockedValueBox(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// A place for a long-poll of `agentID`, or nil when `limit` are waiting already.
    func register(_ agentID: AgentID) -> Waiter? {
        let waiter = Waiter(agentID: agentID)
        let admitted = self.state.withLockedValue { state -> Bool in
            guard state.count < self.limit else { return false }
            state.waiters[agentID, default: [:]][ObjectIdentifier(waiter)] = waiter
            state.count += 1
            return true
        }
        if self.isShuttingDown { waiter.ring() }
        return admitted ? waiter : nil
    }

    /// Gives the place back (always, however the long-poll ended).
    func unregister(_ waiter: Waiter) {
        self.state.withLockedValue { state in
            guard state.waiters[waiter.agentID]?.removeValue(forKey: ObjectIdentifier(waiter)) != nil else { return }
            if state.waiters[waiter.agentID]?.isEmpty == true { state.waiters[waiter.agentID] = nil }
            state.count -= 1
        }
    }

    /// Rings every waiter of `agentID` (a release or cancellation for it was committed).
    func ring(_ agentID: AgentID) {
        let waiters = self.state.withLockedValue { Array(($0.waiters[agentID] ?? [:]).values) }
        for waiter in waiters { waiter.ring() }
    }

    /// Rings every waiter: after the feed (re)connects, or at shutdown.
    func ringAll() {
        let waiters = self.state.withLockedValue { $0.waiters.values.flatMap(\.values) }
        for waiter in waiters { waiter.ring() }
    }

    /// Graceful shutdown: every long-poll answers now (204) instead of holding up the drain.
    func shutDown() {
        self.state.withLockedValue { $0.shuttingDown = true }
        self.ringAll()
    }

    var isShuttingDown: Bool { self.state.withLockedValue { $0.shuttingDown } }

    /// Long-polls waiting now.
    var waiting: Int { self.state.withLockedValue { $0.count } }
}
