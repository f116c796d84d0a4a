import Foundation
import HTTPTypes
import Hummingbird
import PrintplaneCore

/// The user half of pull printing (`/api/v1/user/held-jobs`): list my held jobs, release one to
/// a printer of my choice, cancel one. A user sees and acts on their own jobs only; another
/// user's job answers 404, exactly like one that does not exist. Releases and cancellations are
/// audited in the same transaction, and ring the holding agent's long-poll when committed.
struct UserAPI: Sendable {
    let configuration: ServerConfiguration
    let store: any Store
    let authenticators: [any UserAuthenticator]
    let hub: ReleaseHub
    let metrics: ServerMetrics

    func register(on table: RouteTable) {
        table.add(.get, "/api/v1/user/held-jobs") { r, c in try await self.list(r, c) }
        table.add(.post, "/api/v1/user/held-jobs/{id}/release") { r, c in try await self.release(r, c) }
        table.add(.post, "/api/v1/user/held-jobs/{id}/cancel") { r, c in try await self.cancel(r, c) }
    }

    static let userHeader = HTTPField.Name("X-Printplane-User")!

    // MARK: Authentication

    /// The user behind the request's credentials (see ``UserAuthenticator``).
    func authenticate(_ request: Request, _ context: ServerRequestContext) async throws -> PrintUser {
        guard let header = request.headers[.authorization] else { throw ServerError.credentialMissing }
        let credentials: UserCredentials
        if header.hasPrefix("Bearer ") {
            let acting = request.uri.queryParameters["user"].map(String.init) ?? request.headers[Self.userHeader]
            credentials = .bearer(String(header.dropFirst(7)), actingFor: acting)
        } else if header.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                  let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") {
            let user = String(text[..<colon])
            guard PrintUser.isValidName(user) else { throw ServerError.credentialMalformed }
            credentials = .password(user: user, password: String(text[text.index(after: colon)...]))
        } else {
            throw ServerError.credentialMalformed
        }
        for authenticator in self.authenticators {
            if var user = try await authenticator.authenticate(credentials) {
                user.actor += "@\(context.remoteAddress?.ipAddress ?? "-")"
                return user
            }
        }
        if case .password = credentials { throw ServerError.userPasswordsNeedADirectory }
        throw ServerError.adminKeyInvalid
    }

    private func jobID(_ context: ServerRequestContext) throws -> JobID {
        guard let id = context.parameters.get("id"), !id.isEmpty, id.utf8.count <= 128 else { throw ServerError.invalidField("job_id must be 1 to 128 characters") }
        return JobID(id)
    }

    // MARK: Handlers

    struct HeldJobList: Codable {
        var items: [HeldJobStatus]
    }

    func list(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let user = try await self.authenticate(request, context)
        let query = request.uri.queryParameters
        var states: Set<HeldJobState>?
        if let text = query["state"] {
            states = []
            for name in text.split(separator: ",") {
                guard let state = HeldJobState(rawValue: String(name)) else {
                    throw ServerError.invalidField("state must be a comma-separated list of \(HeldJobState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                states?.insert(state)
            }
        }
        let limit = try query["limit"].map { text -> Int in
            guard let value = Int(text), (1...1000).contains(value) else { throw ServerError.invalidField("limit must be between 1 and 1000") }
            return value
        } ?? 100
        return try HTTPBody.response(HeldJobList(items: try await self.store.heldJobs(user: user.name, states: states, limit: limit)))
    }

    func release(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let user = try await self.authenticate(request, context)
        let id = try self.jobID(context)
        let body = try await HTTPBody.decode(ReleaseRequest.self, from: request, limit: self.configuration.maxJSONBodyBytes)
        guard (body.printerID == nil) != (body.printer == nil) else { throw ServerError.invalidField("name the printer by exactly one of printer_id and printer") }
        guard let (current, agentID) = try await self.store.heldJob(id: id, user: user.name) else { throw ServerError.notFound("held job") }
        try self.checkReleasable(current)
        let printer = try await self.printer(for: body, job: current.job, agentID: agentID)
        let audit = AuditEntry(at: self.configuration.clock(), actor: user.actor, action: "held_job.release", target: id.rawValue, detail: "printer=\(printer.name) (\(printer.id)) user=\(user.name)")
        switch try await self.store.releaseHeldJob(id: id, user: user.name, printer: printer, at: audit.at, audit: audit) {
        case .notFound:
            throw ServerError.notFound("held job")
        case .refused(let status):
            try self.checkReleasable(status)
            throw ServerError.heldJobNotHeld("The job is \(status.state.rawValue), not held.")
        case .changed(let status, let agentID):
            self.hub.ring(agentID)
            self.metrics.heldJobsReleased.increment()
            context.logger.info("held job released", metadata: ["printplane.job.id": "\(id)", "printplane.printer": "\(printer.name)", "printplane.agent.id": "\(agentID)"])
            return try HTTPBody.response(status)
        }
    }

    func cancel(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let user = try await self.authenticate(request, context)
        let id = try self.jobID(context)
        let audit = AuditEntry(at: self.configuration.clock(), actor: user.actor, action: "held_job.cancel", target: id.rawValue, detail: "user=\(user.name)")
        switch try await self.store.cancelHeldJob(id: id, user: user.name, at: audit.at, audit: audit) {
        case .notFound:
            throw ServerError.notFound("held job")
        case .refused(let status):
            throw ServerError.heldJobNotHeld("The job is \(status.state.rawValue); only held or released jobs can be cancelled.")
        case .changed(let status, let agentID):
            self.hub.ring(agentID)
            return try HTTPBody.response(status)
        }
    }

    /// Refuses a release of a job that is not held, or held past its expiry (which the sweep
    /// may not have marked yet).
    private func checkReleasable(_ status: HeldJobStatus) throws {
        if status.state == .expired || (status.state == .held && status.job.expiresAt <= self.configuration.clock()) {
            throw ServerError.heldJobExpired("The job expired at \(ISO8601DateFormatter().string(from: status.job.expiresAt)); print it again.")
        }
        guard status.state == .held else { throw ServerError.heldJobNotHeld("The job is \(status.state.rawValue), not held.") }
    }

    /// The chosen printer with everything the agent needs to print there, and the profile the
    /// most specific assignment of that printer gives this user and computer (the default
    /// profile when none applies; IP-range targets are not known at release time).
    private func printer(for body: ReleaseRequest, job: HeldJobRegistration, agentID: AgentID) async throws -> PlannedPrinter {
        let snapshot = try await self.store.planningSnapshot()
        let chosen: PrinterRecord?
        if let id = body.printerID {
            chosen = snapshot.printers[id]
        } else if let name = body.printer {
            chosen = snapshot.printers.values.first { $0.name == name } ?? snapshot.printers.values.first { $0.name.lowercased() == name.lowercased() }
        } else {
            chosen = nil
        }
        guard let printer = chosen else { throw ServerError.notFound("printer") }
        let subject = TargetingSubject(agentID: agentID, computerName: job.computer, userName: job.user, addresses: [])
        let assignment = TargetingRules.resolve(snapshot.assignments.filter { $0.printerID == printer.id }, for: subject).first
        let profile = assignment?.profileID.flatMap { snapshot.profiles[$0]?.profile } ?? .default
        return PlannedPrinter(
            id: printer.id, name: printer.name, address: printer.address, protocol: printer.protocol, port: printer.port,
            queue: printer.queue, location: printer.location, driver: nil, profile: profile)
    }
}
