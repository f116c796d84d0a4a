/// The answer to a check-in: either "unchanged" or a full plan, always with the next interval.
public struct CheckInResponse: Codable, Sendable, Hashable {
    /// Which kind of answer this is.
    public enum Status: String, Codable, Sendable {
        /// The agent's plan ETag is current; nothing to do.
        case unchanged
        /// `plan` holds the desired printers and the actions to reach them.
        case plan
    }

    public var status: Status
    /// The current plan's ETag, to send back next time.
    public var etag: String
    /// Seconds until the next check-in, jittered, and stretched when the server is loaded.
    public var nextCheckinSeconds: Int
    public var plan: Plan?

    public init(status: Status, etag: String, nextCheckinSeconds: Int, plan: Plan?) {
        self.status = status
        self.etag = etag
        self.nextCheckinSeconds = nextCheckinSeconds
        self.plan = plan
    }

    enum CodingKeys: String, CodingKey {
        case status, etag, plan
        case nextCheckinSeconds = "next_checkin_seconds"
    }
}
