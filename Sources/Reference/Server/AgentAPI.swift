import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PrintplaneCore
import PrintplaneHTTP

/// The agent half of the API (DESIGN.md §3): enroll, check in, upload jobs, fetch drivers.
struct AgentAPI: Sendable {
    let configuration: ServerConfiguration
    let identity: ServerIdentity
    let store: any Store
    let planner: CheckInPlanner
    let shedder: LoadShedder
    let downloads: DriverDownloadResponder
    let repository: DriverRepository
    let metrics: ServerMetrics
    let hub: ReleaseHub

    func register(on table: RouteTable) {
        table.add(.post, "/api/v1/agent/enroll") { request, context in try await self.enroll(request, context) }
        table.add(.post, "/api/v1/agent/checkin") { request, context in try await self.checkIn(request, context) }
        table.add(.post, "/api/v1/agent/jobs") { request, context in try await self.ingest(request, context) }
        table.add(.post, "/api/v1/agent/held-jobs") { request, context in try await self.registerHeldJobs(request, context) }
        table.add(.get, "/api/v1/agent/releases") { request, context in try await self.releases(request, context) }
        table.add(.get, "/api/v1/agent/ping") { request, context in try await self.ping(request, context) }
        table.add(.get, "/api/v1/drivers/{sha256}") { request, context in try await self.download(request, context) }
        table.add(.head, "/api/v1/drivers/{sha256}") { request, context in try await self.download(request, context) }
    }

    // MARK: Authentication

    /// The agent behind the bearer credential; refuses missing, malformed, unknown and revoked ones.
    func authenticate(_ request: Request) async throws -> AgentAuthentication {
        try await DeviceAuthentication.authenticate(request, store: self.store)
    }

    func jitteredInterval(stretch: Double = 1) -> Int {
        let base = Double(self.configuration.checkInIntervalSeconds) * stretch
        let jitter = self.configuration.checkInJitter
        return max(1, Int((base * Double.random(in: (1 - jitter)...(1 + jitter))).rounded()))
    }

    // MARK: Handlers

    func enroll(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let body = try await HTTPBody.decode(EnrollRequest.self, from: request, limit: self.configuration.maxJSONBodyBytes)
        let problems = body.validationProblems
        guard problems.isEmpty else { throw ServerError.invalidField(problems.joined(separator: "; ")) }
        guard let token = SecretToken(parsing: body.token), token.kind == .enrollment else {
            self.metrics.enrollmentRefusals.increment()
            throw ServerError.token(.tokenUnknown)
        }
        let credential = SecretToken.generate(.device)
        let result = try await self.store.enroll(tokenHash: token.sha256Hex, request: body, credentialHash: credential.sha256Hex, at: self.configuration.clock())
        switch result {
        case .failure(let refusal):
            self.metrics.enrollmentRefusals.increment()
            context.logger.notice("enrollment refused", metadata: ["printplane.refusal": "\(refusal.rawValue)", "printplane.hostname": "\(body.hostname)"])
            throw ServerError.token(refusal)
        case .success(let agent):
            self.metrics.enrollments.increment()
            self.planner.forget(agent.id)
            context.logger.info("agent enrolled", metadata: ["printplane.agent.id": "\(agent.id)", "printplane.hostname": "\(agent.hostname)"])
            return try HTTPBody.response(
                EnrollResponse(
                    agentID: agent.id, deviceCredential: credential.value,
                    driverSigningPublicKey: self.identity.driverSigningKey.publicKey.base64,
                    checkinIntervalSeconds: self.configuration.checkInIntervalSeconds,
                    nextCheckinSeconds: self.jitteredInterval()),
                status: .created)
        }
    }

    func checkIn(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        let stretch: Double
        switch self.shedder.admit() {
        case .shed(let retryAfter):
            self.metrics.checkInsShed.increment()
            throw ServerError.overloaded(retryAfter: retryAfter)
        case .admit(let factor):
            stretch = factor
            if factor > 1 { self.metrics.checkInsStretched.increment() }
        }
        let agent = try await self.authenticate(request)
        let body = try await HTTPBody.decode(CheckInRequest.self, from: request, limit: self.configuration.maxJSONBodyBytes)
        let outcome: CheckInPlanner.Outcome
        do {
            outcome = try await self.planner.plan(for: agent, request: body)
        } catch let error as ServerError where error.reason == "directory_unavailable" {
            self.metrics.checkInsDirectoryUnavailable.increment()
            context.logger.warning("check-in refused: directory unavailable", metadata: ["printplane.agent.id": "\(agent.agentID)", "printplane.error": "\(error.message)"])
            throw error
        }
        self.metrics.checkIns.increment()
        defer {
            let elapsed = ContinuousClock.now - start
            self.metrics.checkInDuration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        // Releases ride along when there are any (the credential read said so, at no extra cost).
        let releases = agent.hasPendingReleases ? try await self.store.pendingReleases(agentID: agent.agentID) : nil
        let pending = releases?.isEmpty == false ? releases : nil
        switch outcome {
        case .unchanged(let etag):
            self.metrics.checkInsUnchanged.increment()
            if let pending {
                return try HTTPBody.response(CheckInResponse(status: .unchanged, etag: etag, nextCheckinSeconds: self.jitteredInterval(stretch: stretch), plan: nil, releases: pending))
            }
            return try Self.unchangedResponse(etag: etag, next: self.jitteredInterval(stretch: stretch))
        case .plan(let plan, let etag):
            return try HTTPBody.response(CheckInResponse(status: .plan, etag: etag, nextCheckinSeconds: self.jitteredInterval(stretch: stretch), plan: plan, releases: pending))
        }
    }

    /// The cheap answer: a fixed-shape body written without an encoder.
    static func unchangedResponse(etag: String, next: Int) throws -> Response {
        let text = #"{"etag":"\#(etag)","next_checkin_seconds":\#(next),"status":"unchanged"}"#
        var headers = HTTPFields()
        headers[.contentType] = HTTPBody.jsonMediaType
        headers[.contentLength] = String(text.utf8.count)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func ping(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let agent = try await self.authenticate(request)
        let text = #"{"agent_id":"\#(agent.agentID.rawValue)"}"#
        var headers = HTTPFields()
        headers[.contentType] = HTTPBody.jsonMediaType
        headers[.contentLength] = String(text.utf8.count)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func ingest(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let agent = try await self.authenticate(request)
        let upload = try await HTTPBody.decode(LenientJobBatch<JobRecord>.self, from: request, limit: self.configuration.maxJobBatchBytes)
        guard upload.slots.count <= self.configuration.maxJobsPerBatch else {
            throw ServerError.invalidField("a batch holds at most \(self.configuration.maxJobsPerBatch) jobs")
        }
        let (valid, rejected) = upload.validated(\.jobID, problems: \.validationProblems)
        let result = valid.isEmpty ? JobIngestResult(accepted: [], duplicates: []) : try await self.store.recordJobs(valid, agentID: agent.agentID, receivedAt: self.configuration.clock())
        self.metrics.jobsAccepted.increment(by: result.accepted.count)
        self.metrics.jobsDuplicate.increment(by: result.duplicates.count)
        self.metrics.jobsRejected.increment(by: rejected.count)
        return try HTTPBody.response(JobBatchResponse(accepted: result.accepted, duplicates: result.duplicates, rejected: rejected))
    }

    func download(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try await self.authenticate(request)
        let sha256 = context.parameters.get("sha256") ?? ""
        guard let path = self.repository.path(forSHA256: sha256) else { throw ServerError.invalidDigest }
        guard let size = try await self.repository.ensureLocal(sha256: sha256) else { throw ServerError.notFound("driver") }
        let metrics = self.metrics
        switch self.downloads.respond(
            method: request.method, headers: request.headers, sha256: sha256, path: path, size: size, eventLoop: context.eventLoop,
            onBytes: { metrics.driverBytes.increment(by: $0) })
        {
        case .busy:
            metrics.downloadsRefused.increment()
            throw ServerError.downloadsBusy(retryAfter: Int.random(in: 2...10))
        case .response(let response):
            if response.status == .ok || response.status == .partialContent, request.method == .get {
                metrics.downloadsInFlight.record(self.downloads.limiter.current)
            }
            return response
        }
    }
}
