/// The namespaces a topology-mode run creates (docs/pcap.md, "Topology addresses").
public struct NetworkTopologyConfiguration: Sendable {
    /// Names every namespace `pp-<runID>-…`; letters, digits and `_` only, at most 24 characters.
    public var runID: String
    /// How many `lan` namespaces hang off the cloud (1…200).
    public var lanCount: Int
    /// Start a reaper child that deletes the namespaces if this process dies without tearing
    /// down (kill -9, crash). Only tests that want to see a leak turn it off.
    public var reaper: Bool

    /// One lan and a reaper by default.
    public init(runID: String, lanCount: Int = 1, reaper: Bool = true) {
        self.runID = runID
        self.lanCount = lanCount
        self.reaper = reaper
    }
}
