import Foundation
import Logging
import NIOCore
import PrintProtocols
import Synchronization

/// One fake printer: its faults, counters, held jobs and job store.
///
/// Connections stream job bytes to disk on their own; they come here only at a job's
/// start and end, and for status, so hundreds of printers in one process stay cheap.
public actor VirtualPrinter {
    /// What `GET /printers` shows for a printer.
    public struct Snapshot: Sendable, Codable, Hashable {
        public var index: Int
        public var address: String
        public var rawPort: Int
        public var lpdPort: Int
        public var faults: PrinterFaults
        public var status: Status
        public var counters: Counters
    }

    public struct Status: Sendable, Codable, Hashable {
        public var code: Int
        public var display: String
        public var online: Bool
    }

    public struct Counters: Sendable, Codable, Hashable {
        public var lifePageCount: Int = 0
        public var jobsPrinted: Int = 0
        public var jobsHeld: Int = 0
        public var jobsDropped: Int = 0
        public var jobsRefused: Int = 0
        public var jobsRemoved: Int = 0
        public var bytesReceived: UInt64 = 0
        public var connections: Int = 0
        public var activeJobs: Int = 0

        enum CodingKeys: String, CodingKey {
            case lifePageCount = "life_page_count", jobsPrinted = "jobs_printed", jobsHeld = "jobs_held"
            case jobsDropped = "jobs_dropped", jobsRefused = "jobs_refused", jobsRemoved = "jobs_removed"
            case bytesReceived = "bytes_received", connections, activeJobs = "active_jobs"
        }
    }

    public nonisolated let index: Int
    public nonisolated let address: String
    nonisolated let configuration: FakePrinterConfiguration
    private var store: JobStore
    public private(set) var faults: PrinterFaults {
        didSet { self.faultSnapshot.withLock { $0 = self.faults } }
    }
    /// The faults as of the last change, readable without an actor hop: the RAW path checks
    /// them for every chunk it receives, and a hop per chunk cost a large share of ingest.
    private nonisolated let faultSnapshot: Mutex<PrinterFaults>
    private var counters = Counters()
    private var ports: (raw: Int, lpd: Int) = (0, 0)
    private let logger: Logger
    /// Observers of fault changes (the listener loop watches `offline`). Guarded by a
    /// mutex so graceful shutdown, which is synchronous, can end them.
    private nonisolated let faultObservers = Mutex<[UUID: AsyncStream<FaultChange>.Continuation]>([:])
    /// Numbers fault changes, so ``setFaults(_:)`` can wait until the listener has applied its own.
    private var faultGeneration = 0
    private var appliedFaultGeneration = 0

    init(index: Int, address: String, configuration: FakePrinterConfiguration, logger: Logger) throws(FakePrinterError) {
        self.index = index
        self.address = address
        self.configuration = configuration
        self.store = try JobStore(directory: configuration.spoolDirectory + "/" + address)
        self.faults = configuration.initialFaults
        self.faultSnapshot = Mutex(configuration.initialFaults)
        var logger = logger
        logger[metadataKey: "printplane.printer.address"] = .string(address)
        self.logger = logger
        counters.lifePageCount = store.counters.lifePageCount
        for job in store.jobs.values { Self.tally(job.state, into: &counters, by: 1) }
    }

    // MARK: Status

    public var status: Status {
        let fault = faults.pjlStatus
        if fault.code == 10001, counters.activeJobs > 0 { return Status(code: 10023, display: "PROCESSING JOB", online: true) }
        return Status(code: fault.code, display: fault.display, online: fault.online)
    }

    public var lifePageCount: Int { counters.lifePageCount }

    public func snapshot() -> Snapshot {
        Snapshot(index: index, address: address, rawPort: ports.raw, lpdPort: ports.lpd, faults: faults, status: status, counters: counters)
    }

    func listening(raw: Int, lpd: Int) {
        ports = (raw, lpd)
    }

    // MARK: Faults

    /// Changes the faults. Returns once they are in effect: in particular, once `offline`
    /// has closed the listeners (a connection made afterwards is refused) or clearing it
    /// has bound them again (one made afterwards is served), so a script or test can act
    /// on the new state straight away.
    public func setFaults(_ new: PrinterFaults) async throws(FakePrinterError) {
        let releasePaper = faults.paperOut && !new.paperOut
        faults = new
        faultGeneration += 1
        let change = FaultChange(generation: faultGeneration, faults: new)
        logger.info("faults changed", metadata: ["printplane.printer.faults": "\(new)"])
        faultObservers.withLock { observers in for observer in observers.values { observer.yield(change) } }
        if releasePaper { try printHeldJobs() }
        await waitUntilApplied(change.generation)
    }

    /// Called by the listener once it has acted on a fault change.
    func faultsApplied(_ generation: Int) {
        appliedFaultGeneration = max(appliedFaultGeneration, generation)
    }

    /// Waits (at most 10 s) for the listener to apply `generation`; at once when no listener
    /// runs (before start or after shutdown).
    private func waitUntilApplied(_ generation: Int) async {
        let deadline = ContinuousClock.now + .seconds(10)
        while appliedFaultGeneration < generation, ContinuousClock.now < deadline, !faultObservers.withLock({ $0.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// The current faults without waiting for the actor (a change made by ``setFaults(_:)``
    /// is visible here as soon as it returns).
    public nonisolated var currentFaults: PrinterFaults { self.faultSnapshot.withLock { $0 } }

    /// A stream of fault changes, starting with the current faults.
    func faultChanges() -> AsyncStream<FaultChange> {
        let (stream, continuation) = AsyncStream.makeStream(of: FaultChange.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        faultObservers.withLock { $0[id] = continuation }
        continuation.yield(FaultChange(generation: faultGeneration, faults: faults))
        continuation.onTermination = { [weak self] _ in _ = self?.faultObservers.withLock { $0.removeValue(forKey: id) } }
        return stream
    }

    /// Ends every fault stream, which closes the listeners (graceful shutdown).
    nonisolated func shutdown() {
        let observers = faultObservers.withLock { observers in
            defer { observers.removeAll() }
            return Array(observers.values)
        }
        for observer in observers { observer.finish() }
    }

    // MARK: Jobs

    func connectionOpened() {
        counters.connections += 1
    }

    /// Waits while the printer is busy with another job (busy fault), then reserves a job id.
    func beginJob() async throws -> Int {
        while faults.busy, counters.activeJobs > 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        counters.activeJobs += 1
        return store.reserveJobID()
    }

    /// Records a finished (or failed) job. A printed job is held instead while paper is out.
    @discardableResult
    func finishJob(_ job: PrintedJob) throws(FakePrinterError) -> PrintedJob {
        counters.activeJobs = max(0, counters.activeJobs - 1)
        var job = job
        if job.state == .printed, faults.paperOut { job.state = .held }
        counters.bytesReceived += job.bytes
        try store.save(job, countImpressions: job.state == .printed)
        Self.tally(job.state, into: &counters, by: 1)
        counters.lifePageCount = store.counters.lifePageCount
        logger.info(
            "job \(job.state.rawValue)",
            metadata: [
                "printplane.job.id": "\(job.id)", "printplane.job.transport": "\(job.transport.rawValue)",
                "printplane.job.user": "\(job.user ?? "-")", "printplane.job.name": "\(job.jobName ?? "-")",
                "printplane.job.bytes": "\(job.bytes)", "printplane.job.pages": "\(job.pages.map(String.init) ?? "unknown")",
                "printplane.job.detail": "\(job.detail ?? "")",
            ])
        return job
    }

    /// Abandons a reserved job id without recording anything (no job data ever arrived).
    func cancelJob() {
        counters.activeJobs = max(0, counters.activeJobs - 1)
    }

    private func printHeldJobs() throws(FakePrinterError) {
        for var job in store.jobs.values.filter({ $0.state == .held }).sorted(by: { $0.id < $1.id }) {
            job.state = .printed
            job.completedAt = Date()
            try store.save(job, countImpressions: true)
            Self.tally(.held, into: &counters, by: -1)
            Self.tally(.printed, into: &counters, by: 1)
        }
        counters.lifePageCount = store.counters.lifePageCount
    }

    /// LPD "print any waiting jobs": held jobs print if nothing stops them.
    func printWaitingJobs() throws(FakePrinterError) {
        if !faults.paperOut, !faults.jam { try printHeldJobs() }
    }

    /// Jobs still in the queue (held), oldest first.
    func queuedJobs() -> [PrintedJob] {
        store.jobs.values.filter { $0.state == .held }.sorted { $0.id < $1.id }
    }

    /// LPD remove-jobs: held jobs matching a job number or user name in `list`
    /// (all of the agent's jobs when the list is empty; `root` may remove anyone's).
    func removeJobs(agent: String, list: [String]) throws(FakePrinterError) -> [Int] {
        var removed: [Int] = []
        for var job in queuedJobs() {
            let owned = agent == "root" || job.user == agent
            let matches = list.isEmpty ? owned : list.contains { $0 == String(job.id) || $0 == job.user }
            guard matches, owned || list.contains(String(job.id)) && agent == "root" else { continue }
            job.state = .removed
            try store.save(job, countImpressions: false)
            Self.tally(.held, into: &counters, by: -1)
            Self.tally(.removed, into: &counters, by: 1)
            removed.append(job.id)
        }
        return removed
    }

    public func jobs() -> [PrintedJob] {
        store.jobs.values.sorted { $0.id < $1.id }
    }

    public func job(_ id: Int) -> PrintedJob? {
        store.jobs[id]
    }

    /// Deletes stored jobs; the life page counter keeps counting.
    public func clearJobs() {
        store.removeAll()
        let life = counters.lifePageCount
        let connections = counters.connections
        let active = counters.activeJobs
        counters = Counters()
        counters.lifePageCount = life
        counters.connections = connections
        counters.activeJobs = active
    }

    nonisolated func documentPath(storedAs name: String) -> String {
        configuration.spoolDirectory + "/" + address + "/jobs/" + name
    }

    nonisolated func makeSpoolFile() throws(FakePrinterError) -> SpoolFile {
        try SpoolFile(temporaryPath: configuration.spoolDirectory + "/" + address + "/incoming/\(UUID().uuidString).part")
    }

    nonisolated func documentFileName(jobID: Int, index: Int) -> String {
        "\(jobID)-\(index).prn"
    }

    private static func tally(_ state: PrintedJob.State, into counters: inout Counters, by delta: Int) {
        switch state {
        case .printed: counters.jobsPrinted += delta
        case .held: counters.jobsHeld += delta
        case .dropped: counters.jobsDropped += delta
        case .refused: counters.jobsRefused += delta
        case .removed: counters.jobsRemoved += delta
        }
    }
}

/// One fault change, numbered so the printer can tell when the listener has applied it.
struct FaultChange: Sendable {
    var generation: Int
    var faults: PrinterFaults
}
