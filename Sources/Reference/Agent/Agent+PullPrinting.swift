import Foundation
import NIOCore
import PrintplaneCore

/// Pull printing (DESIGN.md §3): a held job's document stays in the local spool; the server
/// gets its registration (metadata only) through the durable outbox path; when the user
/// releases it at a printer of their choice, the agent hears of it through its long-poll (or a
/// check-in) and sends the document straight to that printer. Every held job ends in exactly
/// one ``JobRecord`` (printed, failed, cancelled or expired), uploaded like any other, which is
/// also how the server learns that the agent acted.
extension Agent {
    /// How one release long-poll ended.
    public enum ReleasePoll: Sendable, Equatable {
        /// Releases or cancellations to act on.
        case pending(PendingReleases)
        /// Nothing within the wait (`204`).
        case none
        /// `503`/`429` with `Retry-After`.
        case retryAfter(Int)
        /// The credential was refused.
        case refused(reason: String, message: String)
        /// The server could not be reached, or answered with an error.
        case failed(String)
    }

    /// What ``handle(_:)`` did, by job.
    public struct ReleaseHandling: Sendable, Equatable {
        public var printed: [JobID] = []
        /// Releases that could not be printed (printer fault, document gone).
        public var failed: [JobID] = []
        /// Cancelled jobs whose documents were deleted.
        public var discarded: [JobID] = []

        public init() {}

        public var count: Int { self.printed.count + self.failed.count + self.discarded.count }
    }

    /// Why a release names a job this workstation no longer has.
    static let documentMissing = "document_missing: the workstation's spool no longer holds this job's document"

    /// Waits up to `seconds` (≤ 30) for releases or cancellations of this agent's held jobs.
    public func pollReleases(wait seconds: Int) async -> ReleasePoll {
        guard let identity else { return .refused(reason: "not_enrolled", message: "the agent has no credential") }
        let request = AgentHTTPRequest(
            method: .get, url: identity.serverURL + "/api/v1/agent/releases?wait=\(seconds)",
            headers: [("Accept", "application/json"), ("Authorization", "Bearer \(identity.deviceCredential)")])
        do {
            let (head, body) = try await self.environment.http.send(request, limit: 8 * 1024 * 1024)
            switch head.status {
            case 200:
                return .pending(try Self.decode(PendingReleases.self, body))
            case 204:
                return ReleasePoll.none
            case 401, 403:
                let error = Self.errorBody(body)
                return .refused(reason: error?.reason ?? "http_\(head.status)", message: error?.message ?? "credential refused")
            case 429, 503:
                let seconds = head.header("Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 30
                self.environment.observer.retryAfter(seconds: seconds, route: "releases")
                return .retryAfter(seconds)
            default:
                let error = Self.errorBody(body)
                return .failed("HTTP \(head.status) \(error?.reason ?? ""): \(error?.message ?? "")")
            }
        } catch {
            return .failed("\(error)")
        }
    }

    /// Prints each released job straight to the printer the user chose (with that printer's
    /// profile as the PJL header, RAW or LPR), deletes each cancelled job, and ends each with
    /// its record in the outbox (then uploads, so the server stops announcing them). A release
    /// of a job the spool no longer has is reported `failed` with the reason; if the job was
    /// in fact already printed here, the outbox keeps that first record and the server already
    /// has or will have it, so the repeat changes nothing.
    @discardableResult
    public func handle(_ pending: PendingReleases) async -> ReleaseHandling {
        guard let identity else { return ReleaseHandling() }
        var done = ReleaseHandling()
        let logger = self.environment.logger
        for release in pending.releases {
            let id = release.job.jobID
            guard self.releasesInFlight.insert(id).inserted else { continue }
            defer { self.releasesInFlight.remove(id) }
            do {
                let now = self.environment.clock.now()
                guard let held = try await self.environment.spool.document(id) else {
                    let record = release.job.record(outcome: .failed, completedAt: now, failure: Self.documentMissing)
                    try await self.environment.outbox.append(record)
                    self.environment.observer.releaseHandled(record)
                    done.failed.append(id)
                    logger.notice("released job is not in the spool (printed here already, or lost): reported failed unless its first record went", metadata: ["printplane.job.id": "\(id)"])
                    continue
                }
                guard let bytes = held.bytes else {
                    let record = held.job.record(outcome: .failed, at: now, failure: Self.documentMissing)
                    try await self.environment.spool.finish(id, record: record)
                    self.environment.observer.releaseHandled(record)
                    done.failed.append(id)
                    logger.warning("released job's document is gone", metadata: ["printplane.job.id": "\(id)"])
                    continue
                }
                let printer = release.printer
                var record = held.job.record
                record.printer = printer.name
                record.protocol = printer.protocol
                record.copies = printer.profile.copies
                record.color = printer.profile.color
                record.duplex = printer.profile.duplex != .simplex
                let failure = await self.deliver(&record, document: bytes, language: held.job.language, printer: printer, identity: identity)
                record.failure = failure.map { "printer: \($0)".prefix(500).description }
                try await self.environment.spool.finish(id, record: record)
                self.environment.observer.releaseHandled(record)
                if failure == nil { done.printed.append(id) } else { done.failed.append(id) }
                logger.log(
                    level: failure == nil ? .info : .warning, failure == nil ? "released job printed" : "released job failed",
                    metadata: [
                        "printplane.job.id": "\(id)", "printplane.printer": "\(printer.name)", "printplane.job.pages": "\(record.pages)",
                        "printplane.released_by": "\(release.releasedBy)", "printplane.error": "\(failure ?? "")",
                    ])
            } catch {
                logger.error("cannot act on a release; it stays pending", metadata: ["printplane.job.id": "\(id)", "printplane.error": "\(error)"])
            }
        }
        for job in pending.cancelled {
            if await self.end(job.jobID, as: .cancelled, fallback: job) { done.discarded.append(job.jobID) }
        }
        if done.count > 0 { _ = await self.uploadOutbox() }
        return done
    }

    /// Deletes held documents past their expiry (the server's, if it keeps them for less) and
    /// records each as `expired`. The server learns through that record, and through the
    /// job's registration if it has not had it yet (it registers an overdue job as expired).
    @discardableResult
    public func expireHeldJobs() async -> [JobID] {
        let now = self.environment.clock.now()
        guard let held = try? await self.environment.spool.heldJobs() else { return [] }
        var expired = [JobID]()
        for job in held where job.expiresAt <= now {
            if await self.end(job.record.jobID, as: .expired, fallback: nil) { expired.append(job.record.jobID) }
        }
        if !expired.isEmpty {
            self.environment.logger.info("held jobs expired; documents deleted", metadata: ["printplane.held.expired": "\(expired.count)"])
        }
        return expired
    }

    /// Ends a held job that was not printed: its document goes, its record goes to the outbox.
    /// A job no longer in the spool still gets a record from `fallback` (the outbox keeps the
    /// first record of a job, so this never overrides one).
    private func end(_ id: JobID, as outcome: JobRecord.Outcome, fallback: HeldJobRegistration?) async -> Bool {
        guard self.releasesInFlight.insert(id).inserted else { return false }
        defer { self.releasesInFlight.remove(id) }
        let now = self.environment.clock.now()
        do {
            if let held = try await self.environment.spool.document(id) {
                try await self.environment.spool.finish(id, record: held.job.record(outcome: outcome, at: now))
            } else if let fallback {
                try await self.environment.outbox.append(fallback.record(outcome: outcome, completedAt: now))
            } else {
                return false
            }
            return true
        } catch {
            self.environment.logger.error("cannot end a held job", metadata: ["printplane.job.id": "\(id)", "printplane.error": "\(error)"])
            return false
        }
    }

    /// Uploads pending registrations in batches; nil when they are all acknowledged, else why
    /// the pass stopped. The server's (possibly shorter) expiries are kept for the spool.
    func uploadRegistrations(identity: AgentIdentity, into result: inout UploadResult) async throws -> CheckInOutcome? {
        while true {
            let batch = try await self.environment.spool.pendingRegistrations(limit: Self.uploadBatchSize)
            if batch.isEmpty { return nil }
            let (head, body) = try await self.call(.post, identity.serverURL + "/api/v1/agent/held-jobs", body: HeldJobBatch(jobs: batch), credential: identity.deviceCredential)
            switch head.status {
            case 200:
                let answer = try Self.decode(HeldJobBatchResponse.self, body)
                let refused = answer.rejected.compactMap(\.jobID)
                for rejection in answer.rejected {
                    self.environment.logger.warning("held-job registration refused; dropped", metadata: [
                        "printplane.job.id": "\(rejection.jobID?.rawValue ?? "-")", "printplane.reason": "\(rejection.reason): \(rejection.message)",
                    ])
                }
                let expiries = Dictionary(answer.expiresAt.map { (JobID($0.key), $0.value) }, uniquingKeysWith: min)
                let acknowledged = answer.accepted + answer.duplicates
                try await self.environment.spool.acknowledgeRegistrations(acknowledged + refused, expiries: expiries)
                result.registered += acknowledged.count
                result.parked += refused.count
                if acknowledged.count + refused.count == 0 { return .failed("the server acknowledged none of \(batch.count) registrations") }
            case 401, 403:
                let error = Self.errorBody(body)
                return .refused(reason: error?.reason ?? "http_\(head.status)", message: error?.message ?? "credential refused")
            case 429, 503:
                let seconds = head.header("Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 30
                self.environment.observer.retryAfter(seconds: seconds, route: "held-jobs")
                return .retryAfter(seconds)
            default:
                let error = Self.errorBody(body)
                return .failed("HTTP \(head.status) \(error?.reason ?? ""): \(error?.message ?? "")")
            }
        }
    }
}
