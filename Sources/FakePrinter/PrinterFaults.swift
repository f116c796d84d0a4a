/// Faults a fake printer can be told to have, at start or at run time over HTTP.
///
/// Each one is observable from the client side, the way a real printer shows it:
/// - `offline`: the listeners close, so connections are refused.
/// - `bytesPerSecond`: the printer reads no faster than this (TCP back-pressure slows the sender).
/// - `dropAfterBytes`: the connection is reset after this many bytes of a job; the job is recorded as dropped.
/// - `paperOut`: jobs are received and held (PJL status 41xyy) until the fault clears, then printed.
/// - `jam`: PJL status 40022; LPD receive-job gets a negative ack and RAW job data is refused (connection reset).
/// - `busy`: one job at a time; other connections wait unread until it finishes.
public struct PrinterFaults: Sendable, Hashable, Codable {
    public var offline: Bool
    public var bytesPerSecond: Int?
    public var dropAfterBytes: Int?
    public var paperOut: Bool
    public var jam: Bool
    public var busy: Bool

    public init(
        offline: Bool = false, bytesPerSecond: Int? = nil, dropAfterBytes: Int? = nil,
        paperOut: Bool = false, jam: Bool = false, busy: Bool = false
    ) {
        self.offline = offline
        self.bytesPerSecond = bytesPerSecond
        self.dropAfterBytes = dropAfterBytes
        self.paperOut = paperOut
        self.jam = jam
        self.busy = busy
    }

    enum CodingKeys: String, CodingKey {
        case offline, bytesPerSecond = "bytes_per_second", dropAfterBytes = "drop_after_bytes", paperOut = "paper_out", jam, busy
    }

    /// Decodes leniently: any field left out keeps its default (no fault), so `{"jam": true}` is enough.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.offline = try c.decodeIfPresent(Bool.self, forKey: .offline) ?? false
        self.bytesPerSecond = try c.decodeIfPresent(Int.self, forKey: .bytesPerSecond)
        self.dropAfterBytes = try c.decodeIfPresent(Int.self, forKey: .dropAfterBytes)
        self.paperOut = try c.decodeIfPresent(Bool.self, forKey: .paperOut) ?? false
        self.jam = try c.decodeIfPresent(Bool.self, forKey: .jam) ?? false
        self.busy = try c.decodeIfPresent(Bool.self, forKey: .busy) ?? false
        if let rate = bytesPerSecond, rate <= 0 {
            throw DecodingError.dataCorruptedError(forKey: .bytesPerSecond, in: c, debugDescription: "must be a positive number of bytes per second")
        }
        if let limit = dropAfterBytes, limit < 0 {
            throw DecodingError.dataCorruptedError(forKey: .dropAfterBytes, in: c, debugDescription: "must be zero or more bytes")
        }
    }

    /// The PJL `INFO STATUS` fields for this state: (CODE, DISPLAY, ONLINE).
    var pjlStatus: (code: Int, display: String, online: Bool) {
        if jam { return (40022, "PAPER JAM", false) }
        if paperOut { return (41101, "LOAD TRAY 1 LETTER", false) }
        return (10001, "READY", true)
    }
}
