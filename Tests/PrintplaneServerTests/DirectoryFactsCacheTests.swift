import Foundation
import NIOConcurrencyHelpers
import PrintplaneCore
import Testing

@testable import PrintplaneServer

/// The facts cache on its own: TTL, sharing, stale answers, and its bound.
@Suite("Directory facts cache")
struct DirectoryFactsCacheTests {
    struct Boom: Error {}

    static func facts(_ name: String) -> DirectoryFacts {
        let dn = try! DistinguishedName("CN=\(name),OU=People,DC=corp")
        return DirectoryFacts(user: DirectoryAccountFacts(dn: dn, groups: [try! DistinguishedName("CN=G-\(name),DC=corp")]), computer: nil)
    }

    @Test func ttlSharingAndStaleAnswers() async throws {
        let cache = DirectoryFactsCache(maximumEntries: 100)
        let clock = ManualClock()
        let loads = NIOLockedValueBox(0)
        let key = DirectoryFactsCache.Key(user: " Alice ", computer: "WS-1")
        #expect(key == DirectoryFactsCache.Key(user: "alice", computer: "ws-1"))
        #expect(DirectoryFactsCache.Key(user: "", computer: "x").user == nil)

        let first = try await cache.facts(for: key, ttl: 60, now: { clock.now }) {
            loads.withLockedValue { $0 += 1 }
            return Self.facts("alice")
        }
        #expect(first.source == .loaded)
        clock.advance(59)
        let second = try await cache.facts(for: key, ttl: 60, now: { clock.now }) { throw Boom() }
        #expect(second.source == .hit && second.entry.digest == first.entry.digest)

        // Concurrent misses: one load, the others share it.
        clock.advance(2)
        let answers = try await withThrowingTaskGroup(of: DirectoryFactsCache.Source.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    try await cache.facts(for: key, ttl: 60, now: { clock.now }) {
                        loads.withLockedValue { $0 += 1 }
                        try await Task.sleep(for: .milliseconds(300))
                        return Self.facts("alice-2")
                    }.source
                }
            }
            return try await group.reduce(into: [DirectoryFactsCache.Source]()) { $0.append($1) }
        }
        #expect(loads.withLockedValue { $0 } == 2)
        #expect(answers.filter { $0 == .loaded }.count == 1)
        #expect(answers.filter { $0 == .shared || $0 == .hit }.count == 9)

        // The lookup fails: the last facts are served, marked stale.
        clock.advance(61)
        let stale = try await cache.facts(for: key, ttl: 60, now: { clock.now }) { throw Boom() }
        #expect(stale.source == .stale && stale.entry.facts == Self.facts("alice-2"))
        // With nothing cached, the failure is the answer.
        await #expect(throws: Boom.self) {
            _ = try await cache.facts(for: .init(user: "bob", computer: "ws-1"), ttl: 60, now: { clock.now }) { throw Boom() }
        }
    }

    @Test func sizeIsBounded() async throws {
        let cache = DirectoryFactsCache(maximumEntries: 10)
        let clock = ManualClock()
        for index in 0..<35 {
            clock.advance(1)
            _ = try await cache.facts(for: .init(user: "user-\(index)", computer: "ws"), ttl: 3600, now: { clock.now }) { Self.facts("user-\(index)") }
            #expect(cache.count <= 10)
        }
        // The newest survive eviction.
        let newest = try await cache.facts(for: .init(user: "user-34", computer: "ws"), ttl: 3600, now: { clock.now }) { throw Boom() }
        #expect(newest.source == .hit)
    }
}
