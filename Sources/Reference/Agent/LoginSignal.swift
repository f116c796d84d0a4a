import NIOConcurrencyHelpers

/// Carries user logins to the check-in loop, which waits for "the interval elapsed or
/// somebody logged in", whichever comes first.
public final class LoginSignal: Sendable {
    private struct State {
        var pending: [String] = []
        var waiter: CheckedContinuation<String?, Never>?
    }
    private let state = NIOLockedValueBox(State())

    public init() {}

    /// A user logged in.
    public func post(_ user: String) {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<String?, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending.append(user)
            return nil
        }
        waiter?.resume(returning: user)
    }

    /// The next login, or nil after `timeout` (or when cancelled).
    public func next(timeout: Duration) async -> String? {
        if let user = self.state.withLockedValue({ $0.pending.isEmpty ? nil : $0.pending.removeFirst() }) { return user }
        return await withTaskGroup(of: String?.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            group.addTask { await self.waitForLogin() }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private func waitForLogin() async -> String? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
                let immediate = self.state.withLockedValue { state -> String?? in
                    if !state.pending.isEmpty { return .some(state.pending.removeFirst()) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = self.state.withLockedValue { state -> CheckedContinuation<String?, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}
