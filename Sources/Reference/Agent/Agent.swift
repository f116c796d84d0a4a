import Crypto
import Foundation
import Logging
import NIOCore
import PrintProtocols
import PrintplaneCore

/// The reference agent's logic: enrollment, check-in and plan application, printing and
/// the outbox. The daemon runs one; the simulator runs thousands in one process with
/// light-weight I/O (DESIGN.md §1, principle 1). All I/O goes through ``AgentEnvironment``.
public actor Agent {
    public nonisolated let environment: AgentEnvironment
    public private(set) var identity: AgentIdentity?
    public private(set) var state: AgentState
    private var publicKey: Curve25519.Signing.PublicKey?
    /// Held jobs being printed or discarded now: a release that arrives through the long-poll
    /// and a check-in at once is acted on once.
    var releasesInFlight = Set<JobID>()
    /// Check-ins run one at a time: the actor is re-entered at every `await`, and two check-ins
    /// at once (a login and the schedule) would both send the old ETag, both get the plan and
    /// both download its drivers. A second one waits here for the first (FIFO).
    private var checkInRunning = false
    private var checkInWaiters: [CheckedContinuation<Void, Never>] = []

    /// The largest document `print` accepts (it is held in memory while it is sent).
    public static let maximumDocumentBytes = 512 * 1024 * 1024
    /// The most records one upload carries (the server's limit is 1,000).
    public static let uploadBatchSize = 500
    /// How long a held job waits for release unless the server keeps it for less.
    public static let defaultHoldTime: TimeInterval = 24 * 3600

    public init(environment: AgentEnvironment, identity: AgentIdentity? = nil, state: AgentState = AgentState()) throws {
        self.environment = environment
        self.identity = identity
        self.state = state
        self.publicKey = try identity.map { try Self.signingKey($0.driverSigningPublicKey) }
    }

    /// An agent with whatever identity and state its store holds.
    public static func load(environment: AgentEnvironment) async throws -> Agent {
        try Agent(environment: environment, identity: try await environment.state.loadIdentity(), state: try await environment.state.loadState())
    }

    static func signingKey(_ base64: String) throws -> Curve25519.Signing.PublicKey {
        guard let raw = Data(base64Encoded: base64), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw AgentError.storage("the stored driver-signing key is not a base64 Ed25519 public key")
        }
        return key
    }

    // MARK: Enrollment

    /// What the agent tells the server about itself at enrollment.
    public struct Machine: Sendable {
        public var hostname: String
        public var machineID: String
        public var os: String
        public var agentVersion: String
        public init(hostname: String, machineID: String, os: String, agentVersion: String) {
            self.hostname = hostname
            self.machineID = machineID
            self.os = os
            self.agentVersion = agentVersion
        }
    }

    /// Enrolls with a token: stores the device credential and the driver-signing key.
    /// An expired, revoked, used-up or unknown token throws `enrollmentRefused` with the
    /// server's reason (`token_expired`, …).
    @discardableResult
    public func enroll(serverURL: String, token: String, machine: Machine) async throws -> AgentIdentity {
        let identity = try await AgentEnrollment.enroll(http: self.environment.http, serverURL: serverURL, token: token, machine: machine, now: self.environment.clock.now())
        let key = try Self.signingKey(identity.driverSigningPublicKey)
        try await self.environment.state.saveIdentity(identity)
        self.identity = identity
        self.publicKey = key
        self.state = AgentState()
        self.state.nextCheckIn = self.environment.clock.now()
        try await self.environment.state.saveState(self.state)
        return identity
    }

    // MARK: Check-in

    /// Checks in once and applies the plan if there is a new one.
    public func checkIn(user: String?, ipAddresses: [String]) async -> CheckInOutcome {
        if self.checkInRunning {
            await withCheckedContinuation { self.checkInWaiters.append($0) }
        } else {
            self.checkInRunning = true
        }
        defer { self.endCheckIn() }
        return await self.checkInNow(user: user, ipAddresses: ipAddresses)
    }

    /// Hands the turn to the next waiting check-in, if any.
    private func endCheckIn() {
        if self.checkInWaiters.isEmpty {
            self.checkInRunning = false
        } else {
            self.checkInWaiters.removeFirst().resume()
        }
    }

    private func checkInNow(user: String?, ipAddresses: [String]) async -> CheckInOutcome {
        guard let identity, let publicKey else { return .refused(reason: "not_enrolled", message: "the agent has no credential") }
        let request = CheckInRequest(
            user: user, ipAddresses: ipAddresses,
            installed: self.state.installed.map { .init(printerID: $0.printer.id, driverSHA256: $0.driverSHA256) },
            planETag: self.state.planETag)
        let outcome: CheckInOutcome
        var releases: PendingReleases?
        do {
            let (head, body) = try await self.call(.post, identity.serverURL + "/api/v1/agent/checkin", body: request, credential: identity.deviceCredential)
            switch head.status {
            case 200:
                let answer = try Self.decode(CheckInResponse.self, body)
                releases = answer.releases
                if answer.status == .unchanged || answer.plan == nil {
                    outcome = .unchanged(next: answer.nextCheckinSeconds)
                } else {
                    let changes = await self.apply(answer.plan!, identity: identity, publicKey: publicKey)
                    if changes.failed.isEmpty {
                        self.state.planETag = answer.etag
                        outcome = .applied(changes, next: answer.nextCheckinSeconds)
                    } else {
                        // Keep no ETag, so the next check-in brings the plan again.
                        self.state.planETag = nil
                        outcome = .partiallyApplied(changes, next: answer.nextCheckinSeconds)
                    }
                }
            case 401, 403:
                let error = Self.errorBody(body)
                outcome = .refused(reason: error?.reason ?? "http_\(head.status)", message: error?.message ?? "credential refused")
            case 429, 503:
                let seconds = head.header("Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 30
                self.environment.observer.retryAfter(seconds: seconds, route: "checkin")
                outcome = .retryAfter(seconds)
            default:
                let error = Self.errorBody(body)
                outcome = .failed("HTTP \(head.status) \(error?.reason ?? ""): \(error?.message ?? "")")
            }
        } catch {
            outcome = .failed("\(error)")
        }
        let now = self.environment.clock.now()
        self.state.lastCheckIn = now
        self.state.lastCheckInResult = outcome.summary
        do {
            try await self.environment.state.saveState(self.state)
        } catch {
            self.environment.logger.error("cannot save agent state", metadata: ["printplane.error": "\(error)"])
        }
        // Releases ride along in the answer when the long-poll has not brought them yet.
        if let releases, !releases.isEmpty { _ = await self.handle(releases) }
        return outcome
    }

    /// Makes the installed printers match the plan: drivers first, verified, then the queue.
    private func apply(_ plan: Plan, identity: AgentIdentity, publicKey: Curve25519.Signing.PublicKey) async -> PlanChanges {
        let fetcher = DriverFetcher(
            http: self.environment.http, store: self.environment.drivers, clock: self.environment.clock,
            observer: self.environment.observer, logger: self.environment.logger, identity: identity, publicKey: publicKey)
        var changes = PlanChanges()
        let desired = Set(plan.printers.map(\.id))
        // Printers often share a driver: fetch (or re-verify) each digest once per plan,
        // and let a driver that failed fail its other printers without another round of
        // downloads and Retry-After waits.
        var fetched = [String: Result<StoredDriver, any Error>]()
        for printer in plan.printers {
            let current = self.state.installed.first { $0.printer.id == printer.id }
            let wantedDigest = printer.driver?.manifest.manifest.sha256
            if let current, current.printer == printer, current.driverSHA256 == wantedDigest { continue }
            do {
                var stored: StoredDriver?
                if let driver = printer.driver {
                    let digest = driver.manifest.manifest.sha256
                    if fetched[digest] == nil {
                        do {
                            let (driverFile, bytes) = try await fetcher.ensure(driver)
                            fetched[digest] = .success(driverFile)
                            changes.driverBytes += bytes
                        } catch {
                            fetched[digest] = .failure(error)
                        }
                    }
                    stored = try fetched[digest]!.get()
                }
                let installed = InstalledPrinter(printer: printer, driverSHA256: wantedDigest)
                try await self.environment.installer.install(installed, driver: stored)
                self.state.installed.removeAll { $0.printer.id == printer.id }
                self.state.installed.append(installed)
                if current == nil { changes.installed.append(printer.name) } else { changes.updated.append(printer.name) }
                self.environment.logger.info(
                    current == nil ? "printer installed" : "printer updated",
                    metadata: ["printplane.printer": "\(printer.name)", "printplane.driver.sha256": "\(wantedDigest ?? "none")"])
            } catch {
                changes.failed[printer.name] = "\(error)"
                self.environment.logger.error("printer not installed", metadata: ["printplane.printer": "\(printer.name)", "printplane.error": "\(error)"])
            }
        }
        for installed in self.state.installed where !desired.contains(installed.printer.id) || plan.remove.contains(installed.printer.id) {
            do {
                try await self.environment.installer.remove(installed)
                self.state.installed.removeAll { $0.printer.id == installed.printer.id }
                changes.removed.append(installed.printer.name)
                self.environment.logger.info("printer removed", metadata: ["printplane.printer": "\(installed.printer.name)"])
            } catch {
                changes.failed[installed.printer.name] = "removal: \(error)"
            }
        }
        self.state.installed.sort { $0.printer.name < $1.printer.name }
        return changes
    }

    /// Records when the next check-in is due, for `status`.
    public func scheduled(next: Date) async {
        self.state.nextCheckIn = next
        try? await self.environment.state.saveState(self.state)
    }

    // MARK: Printing

    /// The result of one print.
    public struct PrintResult: Sendable {
        public var record: JobRecord
        /// Why the printer did not take the job, when the outcome is `failed`.
        public var failure: String?
        /// True when the job was kept in the spool (`--hold`) instead of sent.
        public var held: Bool
    }

    /// Prints `document` straight to an installed printer: the profile as a PJL header,
    /// pages counted with the shared counter, metadata written to the durable outbox
    /// before this returns. A printer fault gives a `failed` record, never `printed`.
    ///
    /// With `hold`, the document stays in the local spool for pull printing, for `holdTime`
    /// (or less, if the server keeps it for less), and the job's registration (metadata only)
    /// is queued for the server in the same transaction.
    public func print(
        document: ByteBuffer, documentName: String, printerName: String, user: String, hold: Bool = false,
        holdTime: TimeInterval = Agent.defaultHoldTime, jobID: JobID = .random()
    ) async throws -> PrintResult {
        guard let identity else { throw AgentError.notEnrolled("this agent") }
        guard document.readableBytes <= Self.maximumDocumentBytes else { throw AgentError.documentTooLarge(limit: Self.maximumDocumentBytes) }
        guard let installed = self.state.installed.first(where: { $0.printer.name == printerName }) else {
            throw AgentError.unknownPrinter(printerName, available: self.state.installed.map(\.printer.name))
        }
        let printer = installed.printer
        let submitted = self.environment.clock.now()
        let count = document.withUnsafeReadableBytes { raw -> PageCount in
            var counter = PageCounter()
            counter.consume(raw)
            return counter.finish()
        }
        var record = JobRecord(
            jobID: jobID, user: user, computer: identity.hostname, printer: printer.name, documentName: documentName,
            pages: count.pages ?? 0, copies: printer.profile.copies, color: printer.profile.color,
            duplex: printer.profile.duplex != .simplex, bytes: Int64(document.readableBytes), protocol: printer.protocol,
            submittedAt: submitted, completedAt: submitted, outcome: .printed)
        if hold {
            let job = HeldJob(record: record, printerName: printer.name, language: count.language, heldAt: submitted, expiresAt: submitted.addingTimeInterval(holdTime))
            try await self.environment.spool.hold(job, document: document)
            self.environment.logger.info("job held for release", metadata: ["printplane.job.id": "\(jobID)", "printplane.printer": "\(printer.name)"])
            return PrintResult(record: record, failure: nil, held: true)
        }
        return try await self.send(record: &record, document: document, language: count.language, printer: printer, identity: identity)
    }

    private func send(record: inout JobRecord, document: ByteBuffer, language: DocumentLanguage, printer: PlannedPrinter, identity: AgentIdentity) async throws -> PrintResult {
        let failure = await self.deliver(&record, document: document, language: language, printer: printer, identity: identity)
        try await self.environment.outbox.append(record)
        self.environment.logger.log(
            level: failure == nil ? .info : .warning, failure == nil ? "job printed" : "job failed",
            metadata: ["printplane.job.id": "\(record.jobID)", "printplane.printer": "\(printer.name)", "printplane.job.pages": "\(record.pages)", "printplane.error": "\(failure ?? "")"])
        return PrintResult(record: record, failure: failure, held: false)
    }

    /// Sends one job to `printer` with its profile as the PJL header, and completes `record`:
    /// `printed`, or `failed` with the printer's reason, which it also returns.
    func deliver(_ record: inout JobRecord, document: ByteBuffer, language: DocumentLanguage, printer: PlannedPrinter, identity: AgentIdentity) async -> String? {
        let payload = PrintJobFormatter.payload(document: document, language: language, profile: printer.profile, jobID: record.jobID, user: record.user, protocol: printer.protocol)
        var failure: String?
        do {
            try await self.environment.printers.send(PrintSubmission(
                printer: printer, jobID: record.jobID, user: record.user, host: identity.hostname,
                documentName: record.documentName, payload: payload, copies: printer.profile.copies))
        } catch {
            failure = "\(error)"
            record.outcome = .failed
        }
        record.completedAt = max(record.submittedAt, self.environment.clock.now())
        return failure
    }

    // MARK: Outbox

    /// How an upload pass ended.
    public struct UploadResult: Sendable, Equatable {
        public var accepted = 0
        public var duplicates = 0
        /// Held-job registrations the server acknowledged (new or already known).
        public var registered = 0
        public var parked = 0
        public var remaining = 0
        /// Why the pass stopped early (server down, refused, busy), nil when drained.
        public var stoppedBy: CheckInOutcome?
    }

    /// Uploads pending records in batches until the outbox is empty or the server stops
    /// taking them. A record is deleted only once the server acknowledged it.
    public func uploadOutbox() async -> UploadResult {
        var result = UploadResult()
        guard let identity else {
            result.stoppedBy = .refused(reason: "not_enrolled", message: "the agent has no credential")
            return result
        }
        do {
            // Registrations first: a held job's final record never overtakes its registration.
            if let stopped = try await self.uploadRegistrations(identity: identity, into: &result) {
                result.stoppedBy = stopped
                result.remaining = await self.pendingUploads()
                return result
            }
            while true {
                let batch = try await self.environment.outbox.pending(limit: Self.uploadBatchSize)
                if batch.isEmpty { break }
                let (head, body) = try await self.call(.post, identity.serverURL + "/api/v1/agent/jobs", body: JobBatch(jobs: batch), credential: identity.deviceCredential)
                switch head.status {
                case 200:
                    let answer = try Self.decode(JobBatchResponse.self, body)
                    try await self.environment.outbox.acknowledge(answer.accepted + answer.duplicates)
                    let parked = answer.rejected.compactMap { rejection in rejection.jobID.map { ($0, "\(rejection.reason): \(rejection.message)") } }
                    try await self.environment.outbox.park(parked)
                    result.accepted += answer.accepted.count
                    result.duplicates += answer.duplicates.count
                    result.parked += parked.count
                    if answer.accepted.count + answer.duplicates.count + parked.count == 0 {
                        result.stoppedBy = .failed("the server acknowledged none of \(batch.count) records")
                        break
                    }
                    continue
                case 401, 403:
                    let error = Self.errorBody(body)
                    result.stoppedBy = .refused(reason: error?.reason ?? "http_\(head.status)", message: error?.message ?? "credential refused")
                case 429, 503:
                    let seconds = head.header("Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 30
                    self.environment.observer.retryAfter(seconds: seconds, route: "jobs")
                    result.stoppedBy = .retryAfter(seconds)
                default:
                    let error = Self.errorBody(body)
                    result.stoppedBy = .failed("HTTP \(head.status) \(error?.reason ?? ""): \(error?.message ?? "")")
                }
                break
            }
        } catch {
            result.stoppedBy = .failed("\(error)")
        }
        result.remaining = await self.pendingUploads()
        return result
    }

    /// Records and registrations waiting for the server (-1 when the storage cannot say).
    public func pendingUploads() async -> Int {
        guard let depth = try? await self.environment.outbox.depth(),
              let registrations = try? await self.environment.spool.pendingRegistrationCount()
        else { return -1 }
        return depth + registrations
    }

    // MARK: HTTP

    func call(_ method: AgentHTTPRequest.Method, _ url: String, body: some Encodable, credential: String?) async throws -> (AgentHTTPHead, ByteBuffer) {
        var headers = [("Content-Type", "application/json"), ("Accept", "application/json")]
        if let credential { headers.append(("Authorization", "Bearer \(credential)")) }
        let data = try WireCoding.makeEncoder().encode(body)
        do {
            return try await self.environment.http.send(AgentHTTPRequest(method: method, url: url, headers: headers, body: ByteBuffer(bytes: data)), limit: 8 * 1024 * 1024)
        } catch {
            throw AgentError.unreachable("\(url): \(error)")
        }
    }

    static func errorBody(_ body: ByteBuffer) -> APIErrorBody? {
        try? WireCoding.makeDecoder().decode(APIErrorBody.self, from: Data(body.readableBytesView))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer) throws -> T {
        do {
            return try WireCoding.makeDecoder().decode(type, from: Data(body.readableBytesView))
        } catch {
            throw AgentError.invalidPlan("the server's answer is not a valid \(T.self): \(error)")
        }
    }
}
