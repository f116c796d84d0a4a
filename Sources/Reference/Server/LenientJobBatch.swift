import PrintplaneCore

/// A job batch decoded record by record, so one bad record gets its own error instead of
/// failing the whole batch (the good ones are still stored and acknowledged).
struct LenientJobBatch: Decodable {
    enum Slot {
        case record(JobRecord)
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
            if let record = try? array.decode(JobRecord.self) {
                slots.append(.record(record))
                continue
            }
            // The failed decode did not advance; read the element again for its ID, then skip it.
            let jobID = (try? array.decode(JobIDOnly.self))?.jobID
            if array.currentIndex == index { _ = try array.decode(Skip.self) }
            slots.append(.undecodable(jobID: jobID, problem: "record \(index) is not a valid job record (check field names, types and ISO 8601 dates)"))
        }
        self.slots = slots
    }
}
