import Foundation
import HTTPTypes
import Hummingbird
import PrintplaneCore

/// The agent's half of pull printing (DESIGN.md §3): register held jobs (metadata only), and
/// learn of releases through a long-poll that answers the moment one exists. The agent reports
/// each job's end through `POST /agent/jobs` as usual; that record moves the held job to its
/// final state.
extension AgentAPI {
    /// `POST /api/v1/agent/held-jobs`: like a job batch, idempotent by job ID, with per-record
    /// refusals, committed before the answer. The answer says the expiry the server keeps for
    /// each job (capped by `--held-job-ttl`).
    func registerHeldJobs(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let agent = try await self.authenticate(request)
        let upload = try await HTTPBody.decode(LenientJobBatch<HeldJobRegistration>.self, from: request, limit: self.configuration.maxJobBatchBytes)
        guard upload.slots.count <= self.configuration.maxJobsPerBatch else {
            throw ServerError.invalidField("a batch holds at most \(self.configuration.maxJobsPerBatch) held jobs")
        }
        let (valid, rejected) = upload.validated(\.jobID, problems: \.validationProblems)
        let ttl = Double(self.configuration.heldJobTTL.components.seconds)
        let result = valid.isEmpty
            ? HeldJobIngestResult()
            : try await self.store.registerHeldJobs(valid, agentID: agent.agentID, receivedAt: self.configuration.clock(), maximumHold: ttl)
        self.metrics.heldJobsRegistered.increment(by: result.accepted.count)
        return try HTTPBody.response(HeldJobBatchResponse(
            accepted: result.accepted, duplicates: result.duplicates, rejected: rejected,
            expiresAt: Dictionary(uniqueKeysWithValues: result.expiresAt.map { ($0.key.rawValue, $0.value) })))
    }

    /// `GET /api/v1/agent/releases?wait=N`: the agent's pending releases and cancellations at
    /// once if there are any, else as soon as one is committed (on any instance), else `204`
    /// after N seconds (0…``ServerConfiguration/maxLongPollSeconds``; 0 answers at once).
    /// At most ``ServerConfiguration/maxLongPolls`` wait at a time; more get 503 + Retry-After.
    func releases(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let agent = try await self.authenticate(request)
        let wait = try request.uri.queryParameters["wait"].map { text -> Int in
            guard let value = Int(text), (0...self.configuration.maxLongPollSeconds).contains(value) else {
                throw ServerError.invalidField("wait must be a whole number of seconds between 0 and \(self.configuration.maxLongPollSeconds)")
            }
            return value
        } ?? 0
        guard let waiter = self.hub.register(agent.agentID) else {
            self.metrics.longPollsRefused.increment()
            throw ServerError.longPollsBusy(retryAfter: Int.random(in: 5...30))
        }
        defer { self.hub.unregister(waiter) }
        let deadline = ContinuousClock.now + .seconds(wait)
        while true {
            // Registered before this read: a release committed after it rings the waiter.
            let pending = try await self.store.pendingReleases(agentID: agent.agentID)
            if !pending.isEmpty { return try HTTPBody.response(pending) }
            if self.hub.isShuttingDown || ContinuousClock.now >= deadline { return Response(status: .noContent) }
            _ = await waiter.wait(until: deadline)
        }
    }
}
