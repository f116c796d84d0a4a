import Foundation
import NIOConcurrencyHelpers
import PrintplaneCore

/// Turns a check-in into "unchanged" or a plan, doing as little work as it can.
///
/// The expensive part (reading the configuration and resolving targets) is keyed by
/// what it depends on: the configuration generation plus the user and addresses the
/// agent reported, and, when the configuration targets AD groups or OUs and a directory
/// is configured, a digest of the directory facts for that user and computer. When that
/// key and the agent's ETag both match what this instance last computed for the agent,
/// the answer is "unchanged" with no read and no serialisation; the facts come from the
/// directory cache (an in-memory hit until the TTL runs out), so a membership change in
/// AD shows up within one TTL. Configuration snapshots are cached per generation.
///
/// When facts are needed but the directory cannot be asked and nothing is cached, the
/// check-in is refused with 503 `directory_unavailable` and `Retry-After` rather than
/// answered with a plan that silently drops group and OU printers.
///
/// Each driver's sources list the LAN caches that serve the agent's addresses or the
/// printer's site before the cloud (``DriverCacheRouting``); registering, changing or
/// deleting a cache, or revoking its credential, bumps the generation, so the cheap
/// "unchanged" path never hides a change of sources.
public final class CheckInPlanner: Sendable {
    private struct CachedPlan: Sendable {
        var inputsKey: Int
        var etag: String
    }

    private struct Cache: Sendable {
        var snapshot: PlanningSnapshot?
        var plans: [AgentID: CachedPlan] = [:]
    }

    private let store: any Store
    private let directory: DirectoryService?
    private let cache = NIOLockedValueBox(Cache())
    private let maxCachedAgents: Int
    private let directoryRetryAfter: ClosedRange<Int>

    /// - Parameters:
    ///   - directory: resolves group and OU facts; nil plans without them (group and OU
    ///     targets then never match).
    ///   - directoryRetryAfter: the `Retry-After` range (seconds) of a `directory_unavailable` answer.
    public init(store: any Store, directory: DirectoryService? = nil, maxCachedAgents: Int = 1_000_000, directoryRetryAfter: ClosedRange<Int> = 30...60) {
        self.store = store
        self.directory = directory
        self.maxCachedAgents = maxCachedAgents
        self.directoryRetryAfter = directoryRetryAfter
    }

    /// The result of planning, before the interval is attached.
    public enum Outcome: Sendable, Equatable {
        case unchanged(etag: String)
        case plan(Plan, etag: String)
    }

    /// Plans for one check-in.
    public func plan(for agent: AgentAuthentication, request: CheckInRequest) async throws -> Outcome {
        let addresses = request.ipAddresses.prefix(64).compactMap { IPAddress($0) }
        // In memory unless the generation moved on.
        let snapshot = try await self.snapshot(generation: agent.generation)
        let directory = try await self.directoryFacts(for: agent, request: request, snapshot: snapshot)
        var hasher = Hasher()
        hasher.combine(agent.generation)
        hasher.combine(request.user?.lowercased())
        hasher.combine(Set(addresses))
        hasher.combine(directory?.digest)
        let inputsKey = hasher.finalize()

        if let etag = request.planETag {
            let cached = self.cache.withLockedValue { $0.plans[agent.agentID] }
            if let cached, cached.inputsKey == inputsKey, cached.etag == etag {
                return .unchanged(etag: etag)
            }
        }

        let subject = TargetingSubject(agentID: agent.agentID, computerName: agent.hostname, userName: request.user, addresses: addresses, directory: directory?.facts)
        let desired = TargetingRules.resolve(snapshot.assignments, for: subject).compactMap { assignment -> PlannedPrinter? in
            guard let printer = snapshot.printers[assignment.printerID] else { return nil }
            let profile = assignment.profileID.flatMap { snapshot.profiles[$0]?.profile } ?? .default
            let driver = printer.driverID.flatMap { snapshot.drivers[$0] }.map { driver in
                // LAN caches for this agent (by address) or this printer (by site) first, the cloud last.
                PlannedDriver(
                    id: driver.id, manifest: driver.manifest,
                    sources: DriverCacheRouting.sources(
                        sha256: driver.manifest.manifest.sha256, caches: snapshot.driverCaches, addresses: addresses, printerSite: printer.site))
            }
            return PlannedPrinter(
                id: printer.id, name: printer.name, address: printer.address, protocol: printer.protocol, port: printer.port,
                queue: printer.queue, location: printer.location, driver: driver, profile: profile)
        }
        let etag = Plan.etag(for: desired)
        self.cache.withLockedValue { cache in
            if cache.plans.count >= self.maxCachedAgents { cache.plans.removeAll(keepingCapacity: true) }
            cache.plans[agent.agentID] = CachedPlan(inputsKey: inputsKey, etag: etag)
        }
        if etag == request.planETag {
            return .unchanged(etag: etag)
        }
        return .plan(Plan(desired: desired, installed: request.installed), etag: etag)
    }

    /// Forgets an agent's cached plan (after revocation or re-enrollment).
    public func forget(_ agentID: AgentID) {
        self.cache.withLockedValue { _ = $0.plans.removeValue(forKey: agentID) }
    }

    /// The directory facts the plan depends on, or nil when it depends on none (no group or OU
    /// assignment, or no directory configured).
    private func directoryFacts(for agent: AgentAuthentication, request: CheckInRequest, snapshot: PlanningSnapshot) async throws -> (facts: DirectoryFacts, digest: Int)? {
        guard snapshot.usesDirectoryTargets, let directory = self.directory, directory.isConfigured else { return nil }
        do {
            let answer = try await directory.cachedFacts(user: request.user, computer: agent.hostname)
            return (answer.entry.facts, answer.entry.digest)
        } catch let error as DirectoryError {
            // Deleted between the check and the lookup: plan as without a directory.
            if error == .notConfigured { return nil }
            throw ServerError.directoryUnavailable(retryAfter: Int.random(in: self.directoryRetryAfter), detail: error.message)
        }
    }

    private func snapshot(generation: Int64) async throws -> PlanningSnapshot {
        if let cached = self.cache.withLockedValue({ $0.snapshot }), cached.generation >= generation {
            return cached
        }
        let fresh = try await self.store.planningSnapshot()
        // A new generation may carry new directory settings: every instance follows them here.
        await self.directory?.synchronize(with: fresh.directory, generation: fresh.generation)
        self.cache.withLockedValue { cache in
            if (cache.snapshot?.generation ?? -1) < fresh.generation { cache.snapshot = fresh }
        }
        return fresh
    }
}
