import NIOConcurrencyHelpers
import NIOCore
import PrintplaneCore

/// The simulator's outbox and spool: in memory, one per virtual agent. It lives as long
/// as the agent does, which in the simulator is the run; a server outage still tests the
/// agent's retry logic, because the records stay until acknowledged.
public final class MemoryOutbox: OutboxStorage, JobSpool {
    private struct State {
        var pending: [JobRecord] = []
        var parked: [JobID: String] = [:]
        var held: [(HeldJob, ByteBuffer)] = []
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
        self.state.withLockedValue { $0.held.append((job, document)) }
    }

    public func heldJobs() async throws -> [HeldJob] { self.state.withLockedValue { $0.held.map(\.0) } }

    public func take(_ id: JobID) async throws -> (HeldJob, ByteBuffer)? {
        self.state.withLockedValue { state in
            guard let index = state.held.firstIndex(where: { $0.0.record.jobID == id }) else { return nil }
            return state.held.remove(at: index)
        }
    }
}
