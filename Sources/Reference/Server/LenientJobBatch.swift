import PrintplaneCore

/// A batch (`{"jobs": [...]}` of job records or held-job registrations) decoded record by
/// record, so one bad record gets its own error instead of failing the whole batch (the good
/// ones are still stored and acknowledged).
struct LenientJobBatch<Record: Decodable>: Decodable {
    enum Slot {
        case record(Record)
        case undecodable(jobID: JobID?, problem: String)
    }

    var slots: [Slot]

    private enum CodingKeys: String, CodingKey { case jobs }

    /// Consumes one array element whatever it holds.
    private struct Skip: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    /// Reads just the job ID of a record that failed to decode, for the error.
    private struct JobIDOnly: Decodable {
        var jobID: JobID?
        enum CodingKeys: String, CodingKey { case jobID = "job_id" }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var array = try container.nestedUnkeyedContainer(forKey: .jobs)
        var slots = [Slot]()
        while !array.isAtEnd {
            let index = array.currentIndex
            if let record = try? array.decode(Record.self) {
                slots.append(.record(record))
                continue
            }
            // The failed decode did not advance; read the element again for its ID, then skip it.
            let jobID = (try? array.decode(JobIDOnly.self))?.jobID
            if array.currentIndex == index { _ = try array.decode(Skip.self) }
            slots.append(.undecodable(jobID: jobID, problem: "record \(index) is not a valid \(Record.self == JobRecord.self ? "job record" : "held-job registration") (check field names, types and ISO 8601 dates)"))
        }
        self.slots = slots
    }
}

extension LenientJobBatch {
    /// The decodable records without problems (first of each job ID), and a refusal for each
    /// of the others.
    func validated(_ id: KeyPath<Record, JobID>, problems: KeyPath<Record, [String]>) -> ([Record], [JobBatchResponse.Rejection]) {
        var valid = [Record]()
        var rejected = [JobBatchResponse.Rejection]()
        var seen = Set<JobID>()
        for (index, slot) in self.slots.enumerated() {
            switch slot {
            case .undecodable(let jobID, let problem):
                rejected.append(.init(index: index, jobID: jobID, reason: "malformed_record", message: problem))
            case .record(let record):
                let found = record[keyPath: problems]
                if !found.isEmpty {
                    rejected.append(.init(index: index, jobID: record[keyPath: id], reason: "invalid_record", message: found.joined(separator: "; ")))
                } else if seen.insert(record[keyPath: id]).inserted {
                    valid.append(record)
                }
            }
        }
        return (valid, rejected)
    }
}
