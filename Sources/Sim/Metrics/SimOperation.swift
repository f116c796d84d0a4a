/// The operations the simulator times, one latency histogram each (issue 6, Measurement).
public enum SimOperation: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    case enroll
    case checkin
    /// A check-in whose answer changed the agent's plan (new profile, driver, token state).
    case checkinChanged = "checkin_changed"
    case checkinUnchanged = "checkin_unchanged"
    case driverDownload = "driver_download"
    case jobUpload = "job_upload"
    case printSend = "print_send"
    /// A pull-print release: from its intended time until the holding agent printed the job.
    case release
    case login

    public static func < (lhs: Self, rhs: Self) -> Bool {
        Self.allCases.firstIndex(of: lhs)! < Self.allCases.firstIndex(of: rhs)!
    }
}
