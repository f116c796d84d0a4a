/// The one list of metric names that thresholds, snapshots and reports share.
///
/// A threshold naming anything else is refused at validation time with a suggestion, so a
/// typo can never turn into a threshold that silently never fails. The unit of each metric
/// decides how threshold values are read (`200ms` against a latency, `5%` against a fraction).
public enum MetricCatalog {
    /// What a metric measures, which fixes its unit in snapshots and thresholds.
    public enum Kind: String, Sendable, Equatable, Codable {
        /// Milliseconds (latency percentiles, max, mean).
        case latency
        /// A plain count of things.
        case count
        /// Completed operations per second over the run.
        case throughput
        /// A fraction between 0 and 1 (`5%` in thresholds means 0.05).
        case fraction
        /// Bytes (`20MB` in thresholds means 20 × 1024 × 1024).
        case bytes
        /// Seconds (`90s` or `2m` in thresholds).
        case seconds
    }

    /// The per-operation statistics: `<operation>.<statistic>`.
    public static let operationStatistics: [(name: String, kind: Kind)] = [
        ("p50", .latency), ("p90", .latency), ("p95", .latency), ("p99", .latency), ("p999", .latency),
        ("max", .latency), ("mean", .latency), ("count", .count), ("errors", .count), ("rate", .throughput),
        ("error_rate", .fraction),
    ]

    /// The percentile behind each latency statistic name.
    public static let percentiles: [(name: String, percentile: Double)] = [
        ("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99), ("p999", 99.9),
    ]

    /// Traffic classes pcap reports WAN bytes and packets for.
    public static let trafficClasses = ["agent_server", "agent_printer", "agent_ad", "other"]

    /// Counters and figures that are not per operation.
    public static let counters: [(name: String, kind: Kind)] = {
        var list: [(String, Kind)] = [
            ("enroll.accepted", .count), ("enroll.refused", .count), ("enroll.refused_expired", .count),
            ("enroll.refused_revoked", .count), ("tokens.expired_accepted", .count), ("tokens.valid_refused", .count),
            ("jobs.printed", .count), ("jobs.failed", .count), ("jobs.held", .count), ("jobs.released", .count), ("pages.printed", .count),
            ("metadata.lost", .count), ("metadata.duplicated", .count),
            ("crosscheck.jobs_mismatch", .count), ("crosscheck.pages_mismatch", .count), ("crosscheck.users_mismatch", .count),
            ("crosscheck.agent_jobs", .count), ("crosscheck.printer_jobs", .count), ("crosscheck.server_jobs", .count),
            ("iterations.dropped", .count), ("errors.total", .count),
            ("driver.bytes", .bytes), ("driver.bytes_from_cache", .bytes), ("driver.bytes_from_cloud", .bytes),
            ("driver.converge_seconds", .seconds), ("driver.converged_agents", .count),
            ("cache.hits", .count), ("cache.misses", .count), ("cache.upstream_fetches", .count), ("cache.upstream_bytes", .bytes),
            ("cache.upstream_failures", .count), ("cache.verification_failures", .count), ("cache.bytes_served", .bytes),
            ("cache.refused_busy", .count),
            ("server.retry_after", .count),
            ("agents.enrolled", .count),
            ("pcap.print_packets_to_cloud", .count), ("pcap.non_tls_to_cloud", .count), ("pcap.dropped", .count),
        ]
        for traffic in trafficClasses {
            list.append(("pcap.wan_bytes.\(traffic)", .bytes))
        }
        for traffic in trafficClasses {
            list.append(("pcap.packets.\(traffic)", .count))
        }
        return list
    }()

    /// Every known metric and its kind.
    public static let all: [String: Kind] = {
        var table: [String: Kind] = [:]
        for operation in SimOperation.allCases {
            for statistic in operationStatistics {
                table["\(operation.rawValue).\(statistic.name)"] = statistic.kind
            }
        }
        for counter in counters {
            table[counter.name] = counter.kind
        }
        return table
    }()

    /// Every known name, sorted: for documentation and suggestions.
    public static var names: [String] { self.all.keys.sorted() }

    /// The kind of `name`, or nil when it is not a metric Printplane knows.
    public static func kind(of name: String) -> Kind? {
        self.all[name]
    }
}
