import Foundation
import NIOConcurrencyHelpers
import PrintplaneCore

/// Directory facts per (user, computer), reused for a TTL, with one lookup per key at a time.
///
/// - A fresh entry is a hit: one lock and one dictionary read, the cost the check-in's
///   "unchanged" path can afford.
/// - Concurrent misses for the same key share one lookup: the first caller loads, the others
///   wait for its result (a login storm asks the directory once per user, not once per agent).
/// - A failed lookup falls back to the last facts for the key, however old ("stale"): during a
///   directory outage agents keep what they had rather than losing group printers.
/// - The number of entries is bounded: when full, expired entries go first, then the oldest tenth.
final class DirectoryFactsCache: Sendable {
    /// Lower-cased user (nil: nobody logged in) and host name.
    struct Key: Hashable, Sendable {
        var user: String?
        var computer: String

        init(user: String?, computer: String) {
            let user = user.map(Self.fold)
            self.user = (user?.isEmpty ?? true) ? nil : user
            self.computer = Self.fold(computer)
        }

        /// Lower-cased, surrounding spaces dropped (cheap when there are none: this runs on
        /// every check-in that needs directory facts).
        private static func fold(_ text: String) -> String {
            let spaced = text.first == " " || text.last == " " || text.first == "\t" || text.last == "\t"
            return (spaced ? text.trimmingCharacters(in: .whitespaces) : text).lowercased()
        }
    }

    struct Entry: Sendable {
        var facts: DirectoryFacts
        /// A digest of the facts, computed once, for the planner's inputs key.
        var digest: Int
        var fetchedAt: Date
    }

    /// Where an answer came from.
    enum Source: Sendable, Equatable {
        /// A fresh cached entry.
        case hit
        /// This caller looked it up.
        case loaded
        /// Another caller's lookup, in flight when this one asked.
        case shared
        /// The lookup failed; the last known facts were used.
        case stale
    }

    struct Answer: Sendable {
        var entry: Entry
        var source: Source
    }

    private enum Decision: Sendable {
        case hit(Entry)
        case load
        case settled(Result<Answer, any Error>)
        case retry
    }

    private struct State: Sendable {
        var entries: [Key: Entry] = [:]
        var waiting: [Key: [CheckedContinuation<Decision, Never>]] = [:]
    }

    private let state = NIOLockedValueBox(State())
    let maximumEntries: Int

    init(maximumEntries: Int) {
        self.maximumEntries = max(1, maximumEntries)
    }

    /// How many keys are cached.
    var count: Int { self.state.withLockedValue { $0.entries.count } }

    /// The facts for `key`: cached when younger than `ttl`, else from `load` (shared with
    /// concurrent callers), else stale when `load` fails and an older entry exists.
    func facts(for key: Key, ttl: TimeInterval, now: @Sendable () -> Date, load: @Sendable () async throws -> DirectoryFacts) async throws -> Answer {
        // The common case, a fresh entry, without suspending.
        let current = now()
        if let entry = self.state.withLockedValue({ $0.entries[key] }), current.timeIntervalSince(entry.fetchedAt) < ttl {
            return Answer(entry: entry, source: .hit)
        }
        for _ in 0..<8 {
            let decision: Decision = await withCheckedContinuation { continuation in
                let immediate: Decision? = self.state.withLockedValue { state in
                    if let entry = state.entries[key], now().timeIntervalSince(entry.fetchedAt) < ttl { return .hit(entry) }
                    if state.waiting[key] != nil {
                        state.waiting[key]!.append(continuation)
                        return nil
                    }
                    state.waiting[key] = []
                    return .load
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
            switch decision {
            case .hit(let entry):
                return Answer(entry: entry, source: .hit)
            case .settled(let result):
                return try result.get()
            case .retry:
                continue
            case .load:
                let outcome: Result<DirectoryFacts, any Error>
                do {
                    outcome = .success(try await load())
                } catch {
                    outcome = .failure(error)
                }
                let (answer, waiters) = self.settle(key, outcome, at: now(), ttl: ttl)
                let cancelled = (try? answer.get()) == nil && outcome.isCancellation
                for waiter in waiters {
                    // A lookup cut short by its caller's cancellation tells the others to try again.
                    waiter.resume(returning: cancelled ? .retry : .settled(answer.map { Answer(entry: $0.entry, source: $0.source == .loaded ? .shared : $0.source) }))
                }
                return try answer.get()
            }
        }
        throw DirectoryError.unavailable("directory lookups for this user and computer kept being cancelled")
    }

    private func settle(_ key: Key, _ outcome: Result<DirectoryFacts, any Error>, at now: Date, ttl: TimeInterval) -> (Result<Answer, any Error>, [CheckedContinuation<Decision, Never>]) {
        self.state.withLockedValue { state in
            let waiters = state.waiting.removeValue(forKey: key) ?? []
            switch outcome {
            case .success(let facts):
                let entry = Entry(facts: facts, digest: facts.hashValue, fetchedAt: now)
                if state.entries[key] == nil, state.entries.count >= self.maximumEntries {
                    Self.evict(&state.entries, now: now, ttl: ttl)
                }
                state.entries[key] = entry
                return (.success(Answer(entry: entry, source: .loaded)), waiters)
            case .failure(let error):
                if let stale = state.entries[key], !outcome.isCancellation {
                    return (.success(Answer(entry: stale, source: .stale)), waiters)
                }
                return (.failure(error), waiters)
            }
        }
    }

    /// Makes room: drops expired entries, and if none were, the oldest tenth.
    private static func evict(_ entries: inout [Key: Entry], now: Date, ttl: TimeInterval) {
        let before = entries.count
        entries = entries.filter { now.timeIntervalSince($0.value.fetchedAt) < ttl }
        guard entries.count == before else { return }
        let oldest = entries.sorted { $0.value.fetchedAt < $1.value.fetchedAt }.prefix(max(1, before / 10))
        for (key, _) in oldest { entries.removeValue(forKey: key) }
    }
}

extension Result {
    fileprivate var isCancellation: Bool {
        if case .failure(let error) = self { return error is CancellationError }
        return false
    }
}
