import Foundation
import NIOConcurrencyHelpers
import NIOCore
import PrintplaneCore

/// The simulator's outbox, spool and pending registrations: in memory, one per virtual agent. It lives as long
/// as the agent does, which in the simulator is the run; a server outage still tests the
/// agent's retry logic, because the records stay until acknowledged.
public final class MemoryOutbox: OutboxStorage, JobSpool {
    private struct State {
        var pending: [JobRecord] = []
        var parked: [JobID: String] = [:]
        var held: [(HeldJob, ByteBuffer)] = []
        var registrations: [HeldJobRegistration] = []
    }
    private let state = NIOLockedValueBox(State())

    public init() {}

    public func append(_ record: JobRecord) async throws {
        self.state.withLockedValue { state in
            guard !state.pending.contains(where: { $0.jobID == record.jobID }) else { return }
            state.pending.append(record)
        }
    }

    public func pending(limit: Int) async throws -> [JobRecord] {
        self.state.withLockedValue { Array($0.pending.prefix(limit)) }
    }

    public func acknowledge(_ ids: [JobID]) async throws {
        let done = Set(ids)
        self.state.withLockedValue { $0.pending.removeAll { done.contains($0.jobID) } }
    }

    public func park(_ rejections: [(JobID, String)]) async throws {
        self.state.withLockedValue { state in
            for (id, reason) in rejections {
                state.parked[id] = reason
                state.pending.removeAll { $0.jobID == id }
            }
        }
    }

    public func depth() async throws -> Int { self.state.withLockedValue { $0.pending.count } }
    public func parkedCount() async throws -> Int { self.state.withLockedValue { $0.parked.count } }

    public func hold(_ job: HeldJob, document: ByteBuffer) async throws {
        self.state.withLockedValue { state in
            state.held.removeAll { $0.0.record.jobID == job.record.jobID }
            state.held.append((job, document))
            if !state.registrations.contains(where: { $0.jobID == job.record.jobID }) { state.registrations.append(job.registration) }
        }
    }

    public func heldJobs() async throws -> [HeldJob] { self.state.withLockedValue { $0.held.map(\.0) } }

    public func document(_ id: JobID) async throws -> HeldDocument? {
        self.state.withLockedValue { state in
            state.held.first { $0.0.record.jobID == id }.map { HeldDocument(job: $0.0, bytes: $0.1) }
        }
    }

    public func finish(_ id: JobID, record: JobRecord) async throws {
        self.state.withLockedValue { state in
            if !state.pending.contains(where: { $0.jobID == record.jobID }) { state.pending.append(record) }
            state.held.removeAll { $0.0.record.jobID == id }
        }
    }

    public func pendingRegistrations(limit: Int) async throws -> [HeldJobRegistration] {
        self.state.withLockedValue { Array($0.registrations.prefix(limit)) }
    }

    public func pendingRegistrationCount() async throws -> Int { self.state.withLockedValue { $0.registrations.count } }

    public func acknowledgeRegistrations(_ ids: [JobID], expiries: [JobID: Date]) async throws {
        let done = Set(ids)
        self.state.withLockedValue { state in
            state.registrations.removeAll { done.contains($0.jobID) }
            for index in state.held.indices {
                if let expiry = expiries[state.held[index].0.record.jobID], expiry < state.held[index].0.expiresAt {
                    state.held[index].0.expiresAt = expiry
                }
            }
        }
    }
}
