import NIOConcurrencyHelpers

/// One upstream fetch per key at a time, however many requests want it: the first waiter
/// starts the work (the service's worker runs it), later ones join, and all hear the same
/// outcome. A waiter that gives up (its request timed out or went away) leaves; the work goes
/// on for the others and for the next request.
///
/// Lock-based rather than an actor, so a cancelled waiter can be resumed from its
/// cancellation handler, which cannot suspend.
final class DriverCacheFetches: Sendable {
    /// How a wait ended.
    enum Outcome: Sendable, Equatable {
        /// The work succeeded (a package's size; 0 for a list refresh).
        case done(Int64)
        case failed(String)
        /// The waiter stopped waiting; the work may still be running.
        case gaveUp
    }

    private struct State {
        var running = Set<String>()
        var waiters: [String: [UInt64: CheckedContinuation<Outcome, Never>]] = [:]
        /// Waiters made but not yet registered, and those of them cancelled meanwhile.
        var unregistered = Set<UInt64>()
        var abandoned = Set<UInt64>()
        var nextID: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    /// Waits for the work on `key`; calls `start` (once, synchronously) when nobody had asked
    /// for it yet, so the caller can hand it to a worker. Cancellation ends the wait with `gaveUp`.
    func wait(for key: String, start: @Sendable (String) -> Void) async -> Outcome {
        let id = self.state.withLockedValue { state -> UInt64 in
            state.nextID += 1
            state.unregistered.insert(state.nextID)
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let first = self.state.withLockedValue { state -> Bool? in
                    state.unregistered.remove(id)
                    if state.abandoned.remove(id) != nil { return nil }
                    state.waiters[key, default: [:]][id] = continuation
                    return state.running.insert(key).inserted
                }
                switch first {
                case nil: continuation.resume(returning: .gaveUp)
                case true?: start(key)
                case false?: break
                }
            }
        } onCancel: {
            let waiter = self.state.withLockedValue { state -> CheckedContinuation<Outcome, Never>? in
                if let waiter = state.waiters[key]?.removeValue(forKey: id) { return waiter }
                // Cancelled before it registered: it will see this and not wait. (After it was
                // resumed there is nothing to do.)
                if state.unregistered.contains(id) { state.abandoned.insert(id) }
                return nil
            }
            waiter?.resume(returning: .gaveUp)
        }
    }

    /// Waits at most `timeout`, then gives up (the work goes on).
    func wait(for key: String, timeout: Duration, start: @escaping @Sendable (String) -> Void) async -> Outcome {
        await withTaskGroup(of: Outcome.self) { group in
            group.addTask { await self.wait(for: key, start: start) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .gaveUp
            }
            let first = await group.next() ?? .gaveUp
            group.cancelAll()
            return first
        }
    }

    /// Ends the work on `key`: every waiter hears `outcome`, and the next wait starts afresh.
    func finish(_ key: String, _ outcome: Outcome) {
        let waiters = self.state.withLockedValue { state -> [CheckedContinuation<Outcome, Never>] in
            state.running.remove(key)
            return Array((state.waiters.removeValue(forKey: key) ?? [:]).values)
        }
        for waiter in waiters { waiter.resume(returning: outcome) }
    }

    /// Whether work on `key` is running.
    func isRunning(_ key: String) -> Bool { self.state.withLockedValue { $0.running.contains(key) } }
}
