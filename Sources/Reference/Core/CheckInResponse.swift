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
    /// Held jobs released or cancelled for this agent that it has not acted on yet; absent
    /// when there are none (the agent also long-polls `GET /api/v1/agent/releases`).
    public var releases: PendingReleases?

    public init(status: Status, etag: String, nextCheckinSeconds: Int, plan: Plan?, releases: PendingReleases? = nil) {
        self.status = status
        self.etag = etag
        self.nextCheckinSeconds = nextCheckinSeconds
        self.plan = plan
        self.releases = releases
    }

    enum CodingKeys: String, CodingKey {
        case status, etag, plan, releases
        case nextCheckinSeconds = "next_checkin_seconds"
    }
}
