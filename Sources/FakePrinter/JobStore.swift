import Foundation
import NIOCore

/// One printer's jobs on disk: `jobs/<id>.json` (metadata), `jobs/<id>-<n>.prn` (bytes),
/// `printer.json` (the life page counter and the last job id), and `incoming/` for jobs
/// still arriving.
///
/// Writes go to a temporary file that is synced and renamed, metadata before counters,
/// so a crash at any point leaves either the old or the new state. On open, a job file
/// newer than `printer.json` (a crash between the two writes) is counted then.
struct JobStore {
    struct Counters: Codable, Hashable, Sendable {
        var lifePageCount: Int = 0
        var lastJobID: Int = 0

        enum CodingKeys: String, CodingKey {
            case lifePageCount = "life_page_count", lastJobID = "last_job_id"
        }
    }

    let directory: String
    let sync: Bool
    private(set) var counters = Counters()
    private(set) var jobs: [Int: PrintedJob] = [:]

    var jobsDirectory: String { directory + "/jobs" }
    var incomingDirectory: String { directory + "/incoming" }
    private var countersPath: String { directory + "/printer.json" }

    init(directory: String, sync: Bool = true) throws(FakePrinterError) {
        self.directory = directory
        self.sync = sync
        let files = FileManager.default
        do {
            try files.createDirectory(atPath: directory + "/jobs", withIntermediateDirectories: true)
            try files.createDirectory(atPath: directory + "/incoming", withIntermediateDirectories: true)
            // Anything still in incoming/ was cut off by a crash: it never completed.
            for leftover in try files.contentsOfDirectory(atPath: directory + "/incoming") {
                try? files.removeItem(atPath: directory + "/incoming/" + leftover)
            }
        } catch {
            throw .storage("cannot prepare \(directory): \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        if let data = files.contents(atPath: countersPath) {
            do {
                counters = try decoder.decode(Counters.self, from: data)
            } catch {
                throw .storage("\(countersPath) is unreadable (\(error)); move it aside to start the counters afresh")
            }
        }
        let names = (try? files.contentsOfDirectory(atPath: directory + "/jobs")) ?? []
        var healed = false
        for name in names where name.hasSuffix(".json") {
            guard let data = files.contents(atPath: directory + "/jobs/" + name),
                let job = try? decoder.decode(PrintedJob.self, from: data)
            else { continue }
            jobs[job.id] = job
            if job.id > counters.lastJobID {
                counters.lastJobID = job.id
                if job.state == .printed { counters.lifePageCount += job.impressions ?? 0 }
                healed = true
            }
        }
        if healed { try writeCounters() }
    }

    /// Reserves the next job id (persisted when the job is recorded).
    mutating func reserveJobID() -> Int {
        let reserved = max(counters.lastJobID, jobs.keys.max() ?? 0, reservedThrough) + 1
        reservedThrough = reserved
        return reserved
    }
    private var reservedThrough = 0

    /// Where a job's document `index` is kept.
    func documentPath(jobID: Int, index: Int) -> String {
        jobsDirectory + "/\(jobID)-\(index).prn"
    }

    func documentPath(storedAs name: String) -> String {
        jobsDirectory + "/" + name
    }

    /// A fresh file in incoming/ for bytes still arriving.
    func makeSpoolFile() throws(FakePrinterError) -> SpoolFile {
        try SpoolFile(temporaryPath: incomingDirectory + "/\(UUID().uuidString).part")
    }

    /// Records a job (new or changed): metadata first, then the counters.
    mutating func save(_ job: PrintedJob, countImpressions: Bool) throws(FakePrinterError) {
        try write(job)
        jobs[job.id] = job
        var changed = false
        if job.id > counters.lastJobID {
            counters.lastJobID = job.id
            changed = true
        }
        if countImpressions, let impressions = job.impressions, impressions > 0 {
            counters.lifePageCount += impressions
            changed = true
        }
        if changed { try writeCounters() }
    }

    /// Deletes stored jobs (metadata and bytes). The life page counter is not touched.
    mutating func removeAll() {
        for job in jobs.values {
            try? FileManager.default.removeItem(atPath: jobsDirectory + "/\(job.id).json")
            for document in job.documents { if let stored = document.storedAs { try? FileManager.default.removeItem(atPath: documentPath(storedAs: stored)) } }
        }
        jobs.removeAll()
    }

    private func write(_ job: PrintedJob) throws(FakePrinterError) {
        try writeAtomically(Self.encode(job), to: jobsDirectory + "/\(job.id).json")
    }

    private func writeCounters() throws(FakePrinterError) {
        try writeAtomically(Self.encode(counters), to: countersPath)
    }

    private func writeAtomically(_ data: Data, to path: String) throws(FakePrinterError) {
        let file = try SpoolFile(temporaryPath: path + ".tmp")
        try file.write(ByteBuffer(bytes: data))
        try file.commit(to: path, sync: sync)
    }

    static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        return (try? encoder.encode(value)) ?? Data()
    }
}

