import Foundation
import NIOConcurrencyHelpers

/// Slows password guessing at the console's sign-in, per client address.
///
/// The first ``freeFailures`` consecutive failures cost nothing (typos); each failure after
/// that locks the address out for twice as long as the one before, from 1 s up to
/// ``maxLockout``. While locked, sign-in is refused with 429 and `Retry-After` *before*
/// the credentials are looked at, so a locked-out guess learns nothing. A success clears
/// the address; an address with no failure for ``forgetAfter`` starts again.
///
/// The state is in memory, per server instance: it bounds guesses per instance, which is
/// what matters for a 256-bit admin key and an AD account that has its own lockout policy.
/// At most ``maxAddresses`` are tracked; the stalest are dropped first.
final class LoginThrottle: Sendable {
    static let freeFailures = 3
    static let maxLockout: TimeInterval = 900
    static let forgetAfter: TimeInterval = 3600
    static let maxAddresses = 10_000

    private struct Entry {
        var failures: Int
        var lastFailure: Date
        var lockedUntil: Date?
    }

    private let entries = NIOLockedValueBox([String: Entry]())
    private let clock: @Sendable () -> Date

    init(clock: @escaping @Sendable () -> Date) {
        self.clock = clock
    }

    /// Seconds `address` must still wait, or `nil` if it may try now.
    func retryAfter(_ address: String) -> Int? {
        let now = self.clock()
        return self.entries.withLockedValue { entries in
            guard let lockedUntil = entries[address]?.lockedUntil, lockedUntil > now else { return nil }
            return max(1, Int(lockedUntil.timeIntervalSince(now).rounded(.up)))
        }
    }

    /// Counts a failed sign-in; returns the lockout it started, in seconds, if any.
    @discardableResult
    func recordFailure(_ address: String) -> Int? {
        let now = self.clock()
        return self.entries.withLockedValue { entries in
            var entry = entries[address].flatMap { now.timeIntervalSince($0.lastFailure) < Self.forgetAfter ? $0 : nil }
                ?? Entry(failures: 0, lastFailure: now, lockedUntil: nil)
            entry.failures += 1
            entry.lastFailure = now
            var lockout: Int?
            if entry.failures > Self.freeFailures {
                let seconds = min(pow(2, Double(entry.failures - Self.freeFailures - 1)), Self.maxLockout)
                entry.lockedUntil = now.addingTimeInterval(seconds)
                lockout = Int(seconds)
            }
            if entries[address] == nil, entries.count >= Self.maxAddresses {
                entries = entries.filter { now.timeIntervalSince($0.value.lastFailure) < Self.forgetAfter }
                if entries.count >= Self.maxAddresses, let stalest = entries.min(by: { $0.value.lastFailure < $1.value.lastFailure }) {
                    entries[stalest.key] = nil
                }
            }
            entries[address] = entry
            return lockout
        }
    }

    /// Clears the address after a successful sign-in.
    func recordSuccess(_ address: String) {
        _ = self.entries.withLockedValue { $0.removeValue(forKey: address) }
    }
}
