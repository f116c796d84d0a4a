import Foundation
import NIOConcurrencyHelpers
import PrintplaneCore

/// Turns a check-in into "unchanged" or a plan, doing as little work as it can.
///
/// The expensive part (reading the configuration and resolving targets) is keyed by
/// what it depends on: the configuration generation plus the user and addresses the
/// agent reported. When that key and the agent's ETag both match what this instance
/// last computed for the agent, the answer is "unchanged" with no read and no
/// serialisation. Configuration snapshots are cached per generation.
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
    private let cache = NIOLockedValueBox(Cache())
    private let maxCachedAgents: Int

    public init(store: any Store, maxCachedAgents: Int = 1_000_000) {
        self.store = store
        self.maxCachedAgents = maxCachedAgents
    }

    /// The result of planning, before the interval is attached.
    public enum Outcome: Sendable, Equatable {
        case unchanged(etag: String)
        case plan(Plan, etag: String)
    }

    /// Plans for one check-in.
    public func plan(for agent: AgentAuthentication, request: CheckInRequest) async throws -> Outcome {
        let addresses = request.ipAddresses.prefix(64).compactMap { IPAddress($0) }
        var hasher = Hasher()
        hasher.combine(agent.generation)
        hasher.combine(request.user?.lowercased())
        hasher.combine(Set(addresses))
        let inputsKey = hasher.finalize()

        if let etag = request.planETag {
            let cached = self.cache.withLockedValue { $0.plans[agent.agentID] }
            if let cached, cached.inputsKey == inputsKey, cached.etag == etag {
                return .unchanged(etag: etag)
            }
        }

        let snapshot = try await self.snapshot(generation: agent.generation)
        let subject = TargetingSubject(agentID: agent.agentID, computerName: agent.hostname, userName: request.user, addresses: addresses)
        let desired = TargetingRules.resolve(snapshot.assignments, for: subject).compactMap { assignment -> PlannedPrinter? in
            guard let printer = snapshot.printers[assignment.printerID] else { return nil }
            let profile = assignment.profileID.flatMap { snapshot.profiles[$0]?.profile } ?? .default
            let driver = printer.driverID.flatMap { snapshot.drivers[$0] }.map { driver in
                PlannedDriver(id: driver.id, manifest: driver.manifest, sources: ["/api/v1/drivers/\(driver.manifest.manifest.sha256)"])
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

    private func snapshot(generation: Int64) async throws -> PlanningSnapshot {
        if let cached = self.cache.withLockedValue({ $0.snapshot }), cached.generation >= generation {
            return cached
        }
        let fresh = try await self.store.planningSnapshot()
        self.cache.withLockedValue { cache in
            if (cache.snapshot?.generation ?? -1) < fresh.generation { cache.snapshot = fresh }
        }
        return fresh
    }
}
