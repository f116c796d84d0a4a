import AsyncHTTPClient
import Crypto
import FakePrinter
import Foundation
import LDAP
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PrintProtocols
import PrintplaneAgent
import PrintplaneCore
import PrintplaneServer

/// Everything one run drives once the services are up: the admin's set-up, the fleet,
/// the arrival schedules, the timed events, and the end-of-run cross-checks.
final class SimWorld: Sendable {
    let scenario: Scenario
    let controlPlane: SimControlPlane
    let printers: FakePrinterService
    let directory: SimulatedADServer?
    let directoryPort: Int?
    let directoryHost: String
    let residentBeforeFleet: Int
    let enrolledIndices = NIOLockedValueBox([Int]())
    let recorder: MetricsRecorder
    let configuration: SimRunConfiguration
    let logger: Logger
    let http: HTTPClient
    let agents: [VirtualAgent]
    let users: [SimUser]
    let printerRecords: [PrinterRecord]
    let tokens: TokenBook
    let ledger: JobLedger
    let releases: ReleaseTracker
    /// The LAN driver caches, with `drivers.cache: per_site`.
    let caches: SimDriverCaches?
    let rollout = DriverRollout()
    let random: NIOLockedValueBox<SeededRandom>
    let inFlight = NIOLockedValueBox(0)
    /// Round-robin positions over the enrolled fleet, one per kind of arrival: with a shared
    /// one, steady rates alias (20 check-ins, 2 logins and 3 prints a second gave the same 3 of
    /// every 25 agents every print and never a check-in, so 36 of 300 never saw a new driver).
    let checkInCursor = NIOLockedValueBox(0)
    let loginCursor = NIOLockedValueBox(0)
    let printCursor = NIOLockedValueBox(0)
    let serverURL: String
    /// The scenario clock's zero: set when ``run()`` starts, after set-up.
    var origin: ContinuousClock.Instant { self.recorder.origin }
    let runTag: String

    private init(
        scenario: Scenario, controlPlane: SimControlPlane, printers: FakePrinterService, directory: SimulatedADServer?, directoryPort: Int?,
        directoryHost: String, residentBeforeFleet: Int,
        recorder: MetricsRecorder, configuration: SimRunConfiguration, logger: Logger, http: HTTPClient, agents: [VirtualAgent], users: [SimUser],
        printerRecords: [PrinterRecord], tokens: TokenBook, serverURL: String, runTag: String, releases: ReleaseTracker, caches: SimDriverCaches?
    ) {
        self.runTag = runTag
        self.caches = caches
        self.releases = releases
        self.ledger = releases.ledger
        self.directoryHost = directoryHost
        self.residentBeforeFleet = residentBeforeFleet
        self.scenario = scenario
        self.controlPlane = controlPlane
        self.printers = printers
        self.directory = directory
        self.directoryPort = directoryPort
        self.recorder = recorder
        self.configuration = configuration
        self.logger = logger
        self.http = http
        self.agents = agents
        self.users = users
        self.printerRecords = printerRecords
        self.tokens = tokens
        self.serverURL = serverURL
        self.random = NIOLockedValueBox(SeededRandom(seed: scenario.seed))
    }

    // MARK: Set-up

    static func build(
        scenario: Scenario, controlPlane: SimControlPlane, printers: FakePrinterService, endpoints: FakePrinterService.Endpoints,
        directory: SimulatedADServer?, directoryPort: Int?, directoryHost: String, recorder: MetricsRecorder, configuration: SimRunConfiguration, logger: Logger,
        cacheSetup: (subnet: Int, directory: String)? = nil
    ) async throws -> SimWorld {
        var random = SeededRandom(seed: scenario.seed)
        let sites = max(1, scenario.fleet.sites)
        let protocols = scenario.printers.protocolAssignment()
        let driverBytes = Self.randomBytes(scenario.drivers.size, using: &random)
        // Names the admin set-up creates carry a per-run tag, so a scenario can run again
        // and again against the same external server.
        let runTag = "run" + String(UInt32.random(in: 0...UInt32.max), radix: 36)

        // The admin's set-up, through the admin API like a real admin's scripts.
        let records = try await controlPlane.admin { admin -> [PrinterRecord] in
            let driver = try await admin.uploadDriver(name: Self.safeName(scenario.drivers.name), version: Self.safeName(scenario.drivers.version) + "+" + runTag, os: "linux", contents: driverBytes)
            let profile = try await admin.createProfile(name: "sim \(runTag)", profile: PrintProfile(duplex: .longEdge, color: false, paper: "A4", tray: nil, copies: 1))
            var records = [PrinterRecord]()
            for (index, endpoint) in endpoints.printers.enumerated() {
                let kind = protocols[index % max(1, protocols.count)]
                let raw = kind == .raw
                let record = try await admin.createPrinter(
                    name: "sim-\(runTag)-printer-\(index + 1)-\(kind.rawValue)", address: endpoint.address, protocol: raw ? .raw : .lpr,
                    port: raw ? endpoint.rawPort : endpoint.lpdPort, queue: raw ? nil : "lp", site: "site-\(index % sites)", driverID: driver.id)
                records.append(record)
            }
            for site in 0..<sites {
                let range = IPRange("10.\(100 + site).0.0/16")!
                for record in records where record.site == "site-\(site)" {
                    _ = try await admin.createAssignment(printerID: record.id, profileID: profile.id, target: .ipRange(range))
                }
            }
            return records
        }

        // People and computers, from the simulated AD when there is one.
        var users = [SimUser]()
        var hostnames = [String]()
        if let directory {
            let people = directory.directory.people.filter { $0.string("userAccountControl") == "512" && $0.string("sAMAccountName") != nil }
            for person in people {
                let sam = person.string("sAMAccountName")!
                users.append(SimUser(name: sam, bindName: person.string("userPrincipalName") ?? sam, password: directory.directory.password(for: sam)))
            }
            hostnames = directory.directory.entries.filter { $0.hasObjectClass("computer") }.compactMap { $0.string("cn") }
        }
        if users.isEmpty {
            users = (0..<max(1, scenario.fleet.agents * scenario.fleet.usersPerAgent)).map { SimUser(name: "user\($0)", bindName: "user\($0)", password: "") }
        }

        // One shared HTTP pool for the whole fleet.
        let caPEM = try await controlPlane.caPEM
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: try HTTPClientTransport.configuration(caPEM: caPEM, timeout: .seconds(60), maxConnectionsPerHost: configuration.httpConnections))
        let transport = HTTPClientTransport(client: http, timeout: .seconds(60))
        let printTransport = NIOPrinterTransport(timeout: .seconds(30))
        var agentLogger = logger
        agentLogger.logLevel = .error
        let releases = ReleaseTracker(recorder: recorder, ledger: JobLedger())
        let observer = SimAgentObserver(recorder: recorder, releases: releases)
        let clock = SystemAgentClock()
        let state = EphemeralAgentStateStore()
        let installer = StateOnlyPrinterInstaller()
        var agents = [VirtualAgent]()
        agents.reserveCapacity(scenario.fleet.agents)
        let residentBefore = ProcessFigures.residentBytes()
        let perAgent = max(1, scenario.fleet.usersPerAgent)
        for index in 0..<scenario.fleet.agents {
            let outbox = MemoryOutbox()
            let environment = AgentEnvironment(
                http: transport, clock: clock, drivers: MemoryDriverStore(), installer: installer, printers: printTransport,
                outbox: outbox, spool: outbox, state: state, observer: observer, logger: agentLogger)
            let site = index % sites
            let hostname = index < hostnames.count ? hostnames[index] : "ws-\(String(format: "%05d", index))"
            let address = "10.\(100 + site).\((index / 250) % 256).\(index % 250 + 1)"
            agents.append(VirtualAgent(
                index: index, agent: try Agent(environment: environment), hostname: hostname, reportedAddress: address, site: site,
                users: (0..<perAgent).map { (index * perAgent + $0) % users.count }))
        }
        var caches: SimDriverCaches?
        if scenario.drivers.cache == .perSite, let cacheSetup {
            var cacheLogger = logger
            cacheLogger.logLevel = .error
            do {
                caches = try await SimDriverCaches.start(
                    sites: sites, subnet: cacheSetup.subnet, runTag: runTag, controlPlane: controlPlane, http: transport, directory: cacheSetup.directory,
                    logger: cacheLogger)
            } catch {
                try? await http.shutdown()
                throw error
            }
        }
        return SimWorld(
            scenario: scenario, controlPlane: controlPlane, printers: printers, directory: directory, directoryPort: directoryPort,
            directoryHost: directoryHost, residentBeforeFleet: residentBefore, recorder: recorder, configuration: configuration, logger: logger, http: http, agents: agents, users: users,
            printerRecords: records, tokens: TokenBook(), serverURL: await controlPlane.url, runTag: runTag, releases: releases, caches: caches)
    }

    func shutdown() async throws {
        // The caches use the fleet's pool: they stop first.
        await self.caches?.stop()
        try await self.http.shutdown()
    }

    static func randomBytes(_ count: Int, using random: inout SeededRandom) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(count)
        var remaining = count
        while remaining >= 8 {
            buffer.writeInteger(random.next())
            remaining -= 8
        }
        for _ in 0..<remaining { buffer.writeInteger(UInt8(truncatingIfNeeded: random.next())) }
        return buffer
    }

    static func expiryText(_ expiry: Scenario.TokenExpiry) -> String {
        switch expiry {
        case .never: return "never"
        case .after(let duration): return "\(max(10, duration.components.seconds))s"
        }
    }

    static func safeName(_ text: String) -> String {
        let kept = text.filter { $0.isLetter || $0.isNumber || " ._-+".contains($0) }
        return kept.isEmpty ? "driver" : String(kept.prefix(100))
    }

    // MARK: The run

    /// Runs every schedule and event until the phases end, then drains the outboxes and
    /// cross-checks. Returns notes for the report.
    func run() async throws -> [String] {
        let scenario = self.scenario
        // Set-up is done: the scenario's clock starts now, so enrollments, phases and events
        // keep their times however long the server, printers, AD and fleet took to start.
        self.recorder.startClock()
        // The fleet token is made at time zero too, so `expires: 20s` means 20 s into the run.
        let fleetToken = try await self.controlPlane.admin { admin in
            try await admin.createToken(expiresIn: Self.expiryText(scenario.fleet.token.expires), maxUses: scenario.fleet.token.maxUses, label: "sim fleet")
        }
        self.tokens.add(name: "fleet", token: fleetToken)
        let cpuAtStart = ProcessFigures.cpuSeconds()
        // Counters start at zero, so "nothing happened" reads 0, not "not measured".
        for counter in [
            "enroll.accepted", "enroll.refused", "enroll.refused_expired", "enroll.refused_revoked", "tokens.expired_accepted",
            "tokens.valid_refused", "jobs.printed", "jobs.failed", "jobs.held", "jobs.released", "pages.printed", "driver.bytes", "driver.bytes_from_cache", "driver.bytes_from_cloud", "server.retry_after",
            "iterations.dropped", "agents.enrolled",
        ] {
            self.recorder.increment(counter, by: 0)
        }
        let end = self.origin + scenario.phasesEnd
        let hardStop = self.origin + scenario.duration
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.enrollments() }
            group.addTask { await self.arrivals(scenario.schedule(\.checkins), until: end) { intended in await self.checkInArrival(intended) } }
            group.addTask { await self.arrivals(scenario.schedule(\.logins), until: end) { intended in await self.loginArrival(intended) } }
            group.addTask { await self.arrivals(self.printSchedule(), until: end) { intended in await self.printArrival(intended) } }
            group.addTask { await self.arrivals(scenario.schedule(\.releases), until: end) { intended in await self.releaseArrival(intended) } }
            group.addTask { await self.events(until: hardStop) }
            group.addTask { await self.uploadLoop(until: end) }
            group.addTask {
                // The run's hard cap: whatever is still going at `duration` is cancelled.
                try? await Task.sleep(until: hardStop, clock: .continuous)
            }
            // Everything but the cap ends by itself; the cap only matters when something hangs.
            var finished = 0
            while await group.next() != nil {
                finished += 1
                if finished == 7 { group.cancelAll() }
            }
        }
        var notes = [String]()
        notes += await self.drain(until: hardStop + .seconds(60))
        let unresolved = self.releases.unresolved()
        for (_, intended) in unresolved { self.recorder.record(.release, intendedStart: intended, error: "not_printed") }
        if !unresolved.isEmpty { notes.append("\(unresolved.count) release(s) were never printed by their agent") }
        notes += try await self.crossCheck()
        if let caches = self.caches {
            caches.record(into: self.recorder)
            let totals = caches.totals
            notes.append(
                "LAN driver caches (\(caches.services.count), one per site): fetched \(totals.upstreamBytes) bytes from the cloud in \(totals.upstreamFetches) fetch(es) and served \(totals.bytesServed) bytes to agents (\(totals.hits) hits, \(totals.misses) misses)")
        }
        let cpu = ProcessFigures.cpuSeconds() - cpuAtStart
        let wall = ScenarioRunner.seconds(ContinuousClock.now - self.origin)
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        self.recorder.set("sim.cpu_share", cpu / max(0.001, wall * cores))
        notes.append(String(format: "the simulator process used %.1f s of CPU in %.1f s (%.0f%% of %d cores); at most %.0f bytes of memory per enrolled virtual agent (resident-set growth from before the fleet was built until every agent had enrolled and applied its plan)", cpu, wall, 100 * cpu / max(0.001, wall * cores), Int(cores), self.recorder.snapshot()["sim.agent_bytes"] ?? 0))
        let kills = await self.controlPlane.kills
        if kills > 0 { notes.append("the embedded server was killed with SIGKILL \(kills) time(s) and restarted") }
        return notes
    }

    /// The print schedule: a rate, or jobs per user-hour for every user of the fleet.
    func printSchedule() -> ArrivalSchedule {
        let users = self.scenario.fleet.agents * max(1, self.scenario.fleet.usersPerAgent)
        return ArrivalSchedule(segments: self.scenario.phases.map { phase in
            ArrivalSchedule.Segment(start: phase.start, duration: phase.duration, rate: phase.print?.rate(loggedInUsers: users) ?? .constant(.zero))
        })
    }

    /// Open model: every arrival starts at its intended time whether or not earlier ones
    /// finished; latency counts from the intended time, so a slow server cannot hide
    /// behind a slow client (no coordinated omission). Arrivals beyond `maxInFlight`
    /// are counted as dropped.
    func arrivals(_ schedule: ArrivalSchedule, until end: ContinuousClock.Instant, _ operation: @escaping @Sendable (ContinuousClock.Instant) async -> Void) async {
        await withDiscardingTaskGroup { group in
            for offset in schedule {
                let intended = self.origin + .milliseconds(Int64(offset * 1000))
                if intended > end || Task.isCancelled { break }
                if intended > .now { try? await Task.sleep(until: intended, clock: .continuous) }
                if Task.isCancelled { break }
                guard self.acquire() else {
                    self.recorder.dropIteration(.checkin)
                    continue
                }
                group.addTask {
                    await operation(intended)
                    self.release()
                }
            }
        }
    }

    func acquire() -> Bool {
        self.inFlight.withLockedValue { count in
            guard count < self.configuration.maxInFlight else { return false }
            count += 1
            return true
        }
    }

    func release() { self.inFlight.withLockedValue { $0 -= 1 } }

    // MARK: Enrollment

    func enrollments() async {
        let count = self.agents.count
        await withDiscardingTaskGroup { group in
            for agent in self.agents {
                let intended = self.origin + self.scenario.fleet.enroll.intendedTime(ofAgent: agent.index, of: count)
                if intended > .now { try? await Task.sleep(until: intended, clock: .continuous) }
                if Task.isCancelled { break }
                group.addTask { await self.enroll(agent, intended: intended) }
            }
        }
        // Every agent has enrolled and applied its first plan: what the fleet weighs now,
        // over what the process weighed before it was built, is an upper bound per agent
        // (it also holds HTTP buffers and metrics).
        let enrolled = max(1, self.enrolledIndices.withLockedValue { $0.count })
        self.recorder.set("sim.agent_bytes", Double(ProcessFigures.residentBytes() - self.residentBeforeFleet) / Double(enrolled))
    }

    func enroll(_ virtual: VirtualAgent, intended: ContinuousClock.Instant) async {
        let token = self.tokens.fleet()
        let sentAt = Date()
        let machine = Agent.Machine(hostname: virtual.hostname, machineID: "sim-\(self.scenario.seed)-\(virtual.index)", os: "linux (simulated)", agentVersion: "printplane-agent sim")
        do {
            try await virtual.agent.enroll(serverURL: self.serverURL, token: token.secret, machine: machine)
            self.recorder.record(.enroll, intendedStart: intended)
            self.recorder.increment("enroll.accepted")
            // The API gives expiry times to the whole second (truncated), so an acceptance
            // counts as "after expiry" only when it was sent over 1.5 s past the shown time.
            if let expiry = token.expiresAt, sentAt.timeIntervalSince(expiry) > 1.5 { self.recorder.increment("tokens.expired_accepted") }
            virtual.mutable.withLockedValue { $0.enrolled = true }
            self.enrolledIndices.withLockedValue { $0.append(virtual.index) }
            self.recorder.set("agents.enrolled", Double(self.enrolledIndices.withLockedValue { $0.count }))
            // An agent checks in as soon as it starts.
            await self.checkIn(virtual, intended: .now, user: nil, operation: nil)
        } catch let error as AgentError {
            self.recorder.record(.enroll, intendedStart: intended, error: error.reason)
            self.recorder.increment("enroll.refused")
            switch error.reason {
            case "token_expired":
                self.recorder.increment("enroll.refused_expired")
                if let expiry = token.expiresAt, expiry.timeIntervalSince(sentAt) > 0.5 { self.recorder.increment("tokens.valid_refused") }
            case "token_revoked": self.recorder.increment("enroll.refused_revoked")
            default: break
            }
        } catch {
            self.recorder.record(.enroll, intendedStart: intended, error: "error")
        }
    }

    // MARK: Check-ins and logins

    /// Picks the next enrolled agent that is free, round-robin.
    func nextAgent(_ cursor: NIOLockedValueBox<Int>) -> VirtualAgent? {
        // Read one slot under the lock: copying the whole list per arrival would cost
        // O(fleet) on every check-in, login and print.
        let count = self.enrolledIndices.withLockedValue { $0.count }
        guard count > 0 else { return nil }
        for _ in 0..<min(count, 16) {
            let slot = cursor.withLockedValue { position -> Int in
                defer { position = (position &+ 1) }
                return position % count
            }
            let agent = self.agents[self.enrolledIndices.withLockedValue { $0[slot] }]
            let free = agent.mutable.withLockedValue { state -> Bool in
                guard state.enrolled, !state.checkingIn else { return false }
                if let until = state.retryAfterUntil, until > .now { return false }
                return true
            }
            if free { return agent }
        }
        return nil
    }

    func checkInArrival(_ intended: ContinuousClock.Instant) async {
        guard let agent = self.nextAgent(self.checkInCursor) else {
            self.recorder.dropIteration(.checkin)
            return
        }
        let user = agent.mutable.withLockedValue { $0.loggedIn }.map { self.users[$0].name }
        await self.checkIn(agent, intended: intended, user: user, operation: .checkin)
    }

    /// One check-in, recorded under `checkin` and `checkin_changed`/`checkin_unchanged`
    /// (and under `operation`, e.g. `login`, when that is what triggered it).
    @discardableResult
    func checkIn(_ virtual: VirtualAgent, intended: ContinuousClock.Instant, user: String?, operation: SimOperation?) async -> CheckInOutcome {
        virtual.mutable.withLockedValue { $0.checkingIn = true }
        defer { virtual.mutable.withLockedValue { $0.checkingIn = false } }
        let outcome = await virtual.agent.checkIn(user: user, ipAddresses: [virtual.reportedAddress])
        let done = ContinuousClock.now
        switch outcome {
        case .unchanged:
            self.recorder.record(.checkin, intendedStart: intended, completion: done)
            self.recorder.record(.checkinUnchanged, intendedStart: intended, completion: done)
        case .applied:
            self.recorder.record(.checkin, intendedStart: intended, completion: done)
            self.recorder.record(.checkinChanged, intendedStart: intended, completion: done)
            await self.rollout.note(agent: virtual, recorder: self.recorder, enrolled: self.enrolledIndices.withLockedValue { $0.count })
        case .partiallyApplied:
            self.recorder.record(.checkin, intendedStart: intended, completion: done, error: "partially_applied")
            self.recorder.record(.checkinChanged, intendedStart: intended, completion: done, error: "partially_applied")
        case .retryAfter(let seconds):
            self.recorder.record(.checkin, intendedStart: intended, completion: done, error: "retry_after")
            virtual.mutable.withLockedValue { $0.retryAfterUntil = .now + .seconds(seconds) }
        case .refused(let reason, _):
            self.recorder.record(.checkin, intendedStart: intended, completion: done, error: reason)
        case .failed(let detail):
            self.recorder.record(.checkin, intendedStart: intended, completion: done, error: detail.contains("unreachable") || detail.contains("connect") ? "server_unreachable" : "failed")
        }
        if let operation, operation != .checkin {
            let failed: String? = switch outcome {
            case .unchanged, .applied: nil
            default: "checkin_failed"
            }
            self.recorder.record(operation, intendedStart: intended, completion: done, error: failed)
        }
        return outcome
    }

    /// A user logs in: the workstation authenticates them against AD (a real LDAP bind),
    /// then the agent checks in for that user.
    func loginArrival(_ intended: ContinuousClock.Instant) async {
        guard let agent = self.nextAgent(self.loginCursor) else {
            self.recorder.dropIteration(.login)
            return
        }
        let userIndex = agent.users[Int(self.random.withLockedValue { $0.next() } % UInt64(agent.users.count))]
        let user = self.users[userIndex]
        if let port = self.directoryPort {
            do {
                let connection = try await LDAPConnection.connect(configuration: LDAPClientConfiguration(host: self.directoryHost, port: port, connectTimeout: .seconds(5), operationTimeout: .seconds(10)))
                do {
                    try await connection.bind(name: user.bindName, password: user.password)
                    await connection.close()
                } catch {
                    await connection.close()
                    throw error
                }
            } catch {
                self.recorder.record(.login, intendedStart: intended, error: "ad_bind_failed")
                return
            }
        }
        agent.mutable.withLockedValue { $0.loggedIn = userIndex }
        await self.checkIn(agent, intended: intended, user: user.name, operation: .login)
    }

    // MARK: Printing

    func printArrival(_ intended: ContinuousClock.Instant) async {
        guard let load = self.scenario.phases.last(where: { self.origin + $0.start <= intended })?.print ?? self.scenario.phases.first(where: { $0.print != nil })?.print else { return }
        // An agent that has printers installed.
        var chosen: (VirtualAgent, InstalledPrinter)?
        for _ in 0..<16 {
            guard let candidate = self.nextAgent(self.printCursor) else { break }
            let installed = await candidate.agent.state.installed
            if !installed.isEmpty {
                let pick = Int(self.random.withLockedValue { $0.next() } % UInt64(installed.count))
                chosen = (candidate, installed[pick])
                break
            }
        }
        guard let (virtual, printer) = chosen else {
            self.recorder.dropIteration(.printSend)
            return
        }
        let (kind, pages, hold) = self.random.withLockedValue { random -> (Scenario.DocumentKind, Int, Bool) in
            let kind = Self.weighted(load.documents, using: &random) ?? .postscript
            let pages = load.pages.sample(using: &random)
            let hold = Double(random.next() % 1_000_000) / 1_000_000 < load.hold
            return (kind, pages, hold)
        }
        let userIndex = virtual.mutable.withLockedValue { $0.loggedIn } ?? virtual.users[0]
        let user = self.users[userIndex].name
        let document = SyntheticDocument.make(kind, pages: pages)
        do {
            let result = try await virtual.agent.print(document: document, documentName: "\(kind.rawValue)-\(pages)p", printerName: printer.printer.name, user: user, hold: hold)
            let record = result.record
            if result.held {
                self.recorder.increment("jobs.held")
                self.recorder.record(.printSend, intendedStart: intended)
                self.releases.hold(ReleaseTracker.Held(jobID: record.jobID, agent: virtual, user: user, heldAt: .now))
                return
            }
            self.ledger.add(record)
            if record.outcome == .printed {
                self.recorder.record(.printSend, intendedStart: intended)
                self.recorder.increment("jobs.printed")
                self.recorder.increment("pages.printed", by: Double(record.pages))
            } else {
                self.recorder.record(.printSend, intendedStart: intended, error: "printer_failed")
                self.recorder.increment("jobs.failed")
            }
        } catch {
            self.recorder.record(.printSend, intendedStart: intended, error: "agent_error")
        }
    }

    // MARK: Pull printing

    /// One release: a job held at least 2 s ago (its registration has gone up with the 1 s
    /// upload loop) is released at a random printer through the user API, with the admin key
    /// acting for its user. Its agent's long-poll is open first, as a daemon's always is; the
    /// release's latency runs until that agent printed the job (``ReleaseTracker``).
    func releaseArrival(_ intended: ContinuousClock.Instant) async {
        guard let job = self.releases.takeHeld(olderThan: .seconds(2), pick: { count in Int(self.random.withLockedValue { $0.next() } % UInt64(count)) }) else {
            self.recorder.dropIteration(.release)
            return
        }
        guard !self.printerRecords.isEmpty, let key = try? await self.controlPlane.adminKey, let caPEM = try? await self.controlPlane.caPEM else {
            self.recorder.record(.release, intendedStart: intended, error: "no_printer")
            return
        }
        let printer = self.printerRecords[Int(self.random.withLockedValue { $0.next() } % UInt64(self.printerRecords.count))]
        let client = UserClient(configuration: UserClient.Configuration(serverURL: self.serverURL, caPEM: caPEM, credentials: .adminKey(key, user: job.user)), client: self.http)
        self.releases.releasing(job.jobID, intended: intended)
        async let poll = job.agent.agent.pollReleases(wait: 20)
        do {
            _ = try await client.release(job.jobID, to: ReleaseRequest(printerID: printer.id))
        } catch {
            self.releases.forget(job.jobID)
            let reason = (error as? AdminClient.Failure)?.reason ?? "unreachable"
            if reason == "not_found" { self.releases.putBack(job) }  // not registered yet
            self.recorder.record(.release, intendedStart: intended, error: reason)
            return
        }
        if case .pending(let pending) = await poll {
            await job.agent.agent.handle(pending)
        }
    }

    static func weighted<Key: Hashable & Comparable>(_ weights: [Key: Double], using random: inout SeededRandom) -> Key? {
        let total = weights.values.reduce(0, +)
        guard total > 0 else { return nil }
        var draw = Double(random.next() % 1_000_000) / 1_000_000 * total
        for key in weights.keys.sorted() {
            draw -= weights[key]!
            if draw < 0 { return key }
        }
        return weights.keys.sorted().last
    }

    // MARK: The outbox

    /// Agents upload their outboxes every second while they hold records (the daemon's
    /// upload loop, compressed in time).
    func uploadLoop(until end: ContinuousClock.Instant) async {
        while ContinuousClock.now < end, !Task.isCancelled {
            await self.uploadPass()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// One pass over every agent with pending records; returns how many are still pending.
    @discardableResult
    func uploadPass() async -> Int {
        let pending = await withTaskGroup(of: Int.self) { group -> Int in
            var running = 0
            var total = 0
            for virtual in self.agents where virtual.isEnrolled {
                if running >= 32, let done = await group.next() {
                    total += done
                    running -= 1
                }
                running += 1
                group.addTask {
                    let depth = await virtual.agent.pendingUploads()
                    guard depth != 0 else { return 0 }
                    let start = ContinuousClock.now
                    let result = await virtual.agent.uploadOutbox()
                    self.recorder.record(.jobUpload, intendedStart: start, error: result.stoppedBy.map { _ in "upload_stopped" })
                    return max(0, result.remaining)
                }
            }
            for await done in group { total += done }
            return total
        }
        return pending
    }

    /// After the phases: keep uploading until every outbox is empty (or the deadline).
    func drain(until deadline: ContinuousClock.Instant) async -> [String] {
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if await self.uploadPass() == 0 { return [] }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return ["the outboxes did not drain before the deadline"]
    }

    // MARK: Events

    func events(until hardStop: ContinuousClock.Instant) async {
        await withDiscardingTaskGroup { group in
            for event in self.scenario.events.sorted(by: { $0.at < $1.at }) {
                let at = self.origin + event.at
                if at > hardStop { break }
                try? await Task.sleep(until: at, clock: .continuous)
                if Task.isCancelled { break }
                self.configuration.output("\(self.configuration.isTTY ? "\r\u{1B}[2K" : "")event at \(ScenarioUnits.format(event.at)): \(event.action.kind)\n")
                do {
                    try await self.apply(event.action, group: &group)
                } catch {
                    self.logger.error("event failed", metadata: ["printplane.event": "\(event.action.kind)", "printplane.error": "\(error)"])
                    self.recorder.increment("errors.total")
                }
            }
        }
    }

    func apply(_ action: Scenario.Event.Action, group: inout DiscardingTaskGroup) async throws {
        switch action {
        case .publishDriver(let version, let size):
            var random = SeededRandom(seed: self.scenario.seed &+ UInt64(size))
            let bytes = Self.randomBytes(size, using: &random)
            let records = self.printerRecords
            let driver = try await self.controlPlane.admin { admin in
                try await admin.uploadDriver(name: Self.safeName(self.scenario.drivers.name), version: Self.safeName(version) + "+" + self.runTag, os: "linux", contents: bytes)
            }
            // Tracked before the first printer switches: an agent that applies the whole new
            // plan between the switches and the start would be counted nowhere, its later
            // check-ins being unchanged (seen as 264 of 300 converged).
            await self.rollout.start(sha256: driver.manifest.manifest.sha256, at: ContinuousClock.now)
            try await self.controlPlane.admin { admin in
                for record in records { _ = try await admin.setPrinterDriver(printerID: record.id, driverID: driver.id) }
            }
        case .createToken(let name, let expires, let maxUses):
            let token = try await self.controlPlane.admin { try await $0.createToken(expiresIn: Self.expiryText(expires), maxUses: maxUses, label: name) }
            self.tokens.add(name: name, token: token)
        case .revokeToken(let name):
            guard let id = self.tokens.id(of: name) else { throw SimRunError("no token named \(name)") }
            _ = try await self.controlPlane.admin { try await $0.revokeToken(id: id) }
            self.tokens.revoke(name: name)
        case .killServer(let restartAfter):
            await self.controlPlane.kill()
            if let restartAfter {
                group.addTask {
                    try? await Task.sleep(for: restartAfter)
                    do { try await self.controlPlane.start() } catch { self.logger.error("restart failed", metadata: ["printplane.error": "\(error)"]) }
                }
            }
        case .restartServer:
            try await self.controlPlane.start()
        case .adDown(let duration):
            self.directory?.faults.set(SimulatedADFaults(refuseConnections: true))
            if let duration {
                group.addTask {
                    try? await Task.sleep(for: duration)
                    self.directory?.faults.set(SimulatedADFaults())
                }
            }
        case .adUp:
            self.directory?.faults.set(SimulatedADFaults())
        case .printerOffline(let selection, let duration):
            let indices = selection.indices(printerCount: self.printers.printers.count)
            for index in indices { try await self.printers.printers[index].setFaults(PrinterFaults(offline: true)) }
            if let duration {
                group.addTask {
                    try? await Task.sleep(for: duration)
                    for index in indices { try? await self.printers.printers[index].setFaults(PrinterFaults()) }
                }
            }
        case .printerOnline(let selection):
            for index in selection.indices(printerCount: self.printers.printers.count) { try await self.printers.printers[index].setFaults(PrinterFaults()) }
        case .networkCut(let duration):
            guard self.configuration.topologyRunID != nil else { throw SimRunError("network_cut needs topology: namespaces") }
            try await Self.wan(up: false)
            if let duration {
                group.addTask {
                    try? await Task.sleep(for: duration)
                    do { try await Self.wan(up: true) } catch { self.logger.error("network restore failed", metadata: ["printplane.error": "\(error)"]) }
                }
            }
        case .networkRestore:
            guard self.configuration.topologyRunID != nil else { throw SimRunError("network_restore needs topology: namespaces") }
            try await Self.wan(up: true)
        }
    }

    /// Takes this (lan) namespace's WAN link down or up again; bringing it up restores the
    /// default route through the cloud side, which the kernel dropped with the link.
    static func wan(up: Bool) async throws {
        let interface = NetworkTopology.wanInterface
        let link = try await ChildProcess.run("/usr/sbin/ip", ["link", "set", interface, up ? "up" : "down"])
        guard link.status == 0 else { throw SimRunError("ip link set \(interface) \(up ? "up" : "down") failed: \(link.output)") }
        if up {
            let route = try await ChildProcess.run("/usr/sbin/ip", ["route", "replace", "default", "via", "\(NetworkTopology.gatewayAddress(0))", "dev", interface])
            guard route.status == 0 else { throw SimRunError("restoring the default route failed: \(route.output)") }
        }
    }

    // MARK: Cross-checks

    /// The server's job records == what the fake printers received == what the agents
    /// printed, by job ID; lost and duplicated metadata are counted.
    func crossCheck() async throws -> [String] {
        let serverJobs = try await self.controlPlane.admin { try await $0.allJobs() }
        var printed = [String: PrintedJob]()
        for printer in self.printers.printers {
            for job in await printer.jobs() where job.state == .printed {
                if let name = job.jobName { printed[name] = job }
            }
        }
        let agentJobs = self.ledger.all()
        let serverByID = Dictionary(serverJobs.map { ($0.jobID.rawValue, $0) }, uniquingKeysWith: { first, _ in first })
        let lost = agentJobs.keys.filter { serverByID[$0] == nil }.count
        let unknownOnServer = serverByID.keys.filter { agentJobs[$0] == nil }.count
        let duplicated = (serverJobs.count - serverByID.count) + unknownOnServer
        let agentPrinted = Set(agentJobs.filter { $0.value.outcome == .printed }.keys)
        let printerIDs = Set(printed.keys)
        var pagesMismatch = 0
        var usersMismatch = 0
        for id in agentPrinted {
            guard let record = agentJobs[id] else { continue }
            if let job = printed[id] {
                if job.pages != record.pages { pagesMismatch += 1 }
                if Self.unquoted(job.user) != record.user { usersMismatch += 1 }
            }
            if let server = serverByID[id] {
                if server.pages != record.pages { pagesMismatch += 1 }
                if server.user != record.user { usersMismatch += 1 }
            }
        }
        self.recorder.set("metadata.lost", Double(lost))
        self.recorder.set("metadata.duplicated", Double(duplicated))
        self.recorder.set("crosscheck.jobs_mismatch", Double(agentPrinted.symmetricDifference(printerIDs).count))
        self.recorder.set("crosscheck.pages_mismatch", Double(pagesMismatch))
        self.recorder.set("crosscheck.users_mismatch", Double(usersMismatch))
        self.recorder.set("crosscheck.server_jobs", Double(serverJobs.count))
        self.recorder.set("crosscheck.printer_jobs", Double(printerIDs.count))
        self.recorder.set("crosscheck.agent_jobs", Double(agentJobs.count))
        self.recorder.set("agents.enrolled", Double(self.enrolledIndices.withLockedValue { $0.count }))
        return ["cross-check: agents reported \(agentJobs.count) jobs (\(agentPrinted.count) printed), printers received \(printerIDs.count), the server holds \(serverJobs.count)"]
    }

    static func unquoted(_ text: String?) -> String? {
        guard let text else { return nil }
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { return String(text.dropFirst().dropLast()) }
        return text
    }
}

/// The jobs the agents printed (metadata as the agent recorded it), by job ID.
final class JobLedger: Sendable {
    private let jobs = NIOLockedValueBox([String: JobRecord]())
    func add(_ record: JobRecord) { self.jobs.withLockedValue { $0[record.jobID.rawValue] = record } }
    func all() -> [String: JobRecord] { self.jobs.withLockedValue { $0 } }
}

/// The tokens of a run by name.
final class TokenBook: Sendable {
    struct Entry: Sendable {
        var name: String
        var id: String
        var secret: String
        var expiresAt: Date?
        var revoked = false
    }
    private let entries = NIOLockedValueBox([Entry]())

    func add(name: String, token: AdminClient.Token) {
        self.entries.withLockedValue { $0.append(Entry(name: name, id: token.id, secret: token.token ?? "", expiresAt: token.expiresAt)) }
    }

    /// The fleet's own token: every virtual agent enrolls with it (named tokens from
    /// `create_token` events exercise the admin API; `revoke_token: fleet` cuts the fleet off).
    func fleet() -> Entry { self.entries.withLockedValue { $0.first { $0.name == "fleet" }! } }
    func id(of name: String) -> String? { self.entries.withLockedValue { $0.last { $0.name == name }?.id } }
    func revoke(name: String) { self.entries.withLockedValue { entries in for index in entries.indices where entries[index].name == name { entries[index].revoked = true } } }
}

/// Tracks a published driver until every enrolled agent has it.
actor DriverRollout {
    private var sha256: String?
    private var publishedAt: ContinuousClock.Instant?
    private var converged = Set<Int>()
    private var done = false

    func start(sha256: String, at instant: ContinuousClock.Instant) {
        self.sha256 = sha256
        self.publishedAt = instant
        self.converged = []
        self.done = false
    }

    func note(agent: VirtualAgent, recorder: MetricsRecorder, enrolled: Int) async {
        guard let sha256, let publishedAt, !self.done else { return }
        let installed = await agent.agent.state.installed
        guard !installed.isEmpty, installed.allSatisfy({ $0.driverSHA256 == sha256 }) else { return }
        self.converged.insert(agent.index)
        recorder.set("driver.converged_agents", Double(self.converged.count))
        if self.converged.count >= enrolled {
            self.done = true
            let elapsed = ContinuousClock.now - publishedAt
            recorder.set("driver.converge_seconds", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
    }
}
