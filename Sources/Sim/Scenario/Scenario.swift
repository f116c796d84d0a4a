/// One simulator run, as declared by a `scenarios/*.yaml` file (DESIGN.md §6, docs/scenarios.md).
///
/// Every default is already applied, so the runner never has to know which keys the user
/// wrote: what it reads here is exactly what it must do. Values are plain `Sendable` structs,
/// so one scenario can be handed to thousands of virtual agents without copying concerns.
/// Build one with ``ScenarioLoader``; it refuses files with errors, so a `Scenario` is valid.
public struct Scenario: Sendable, Equatable {
    /// `[a-z0-9-]{1,64}`: used in report file names and log metadata.
    public var name: String
    public var description: String?
    /// Seeds everything random in the run (page counts, document types, user choice).
    public var seed: UInt64
    /// Hard cap of the whole run; the default is the phases plus a 30 s drain.
    public var duration: Duration
    public var topology: Topology
    public var server: Server
    public var directory: Directory
    public var printers: Printers
    public var drivers: Drivers
    public var fleet: Fleet
    /// Back to back from t = 0, in file order.
    public var phases: [Phase]
    /// Sorted by `at` (stable, so equal times keep file order).
    public var events: [Event]
    public var thresholds: [Threshold]
    /// The file the scenario came from, when it came from one (for reports and messages).
    public var sourceFile: String?

    /// Where the simulated hosts live: all on loopback addresses, or in network namespaces
    /// joined by a WAN link that pcap measures (DESIGN.md §6).
    public enum Topology: String, Sendable, Equatable, CaseIterable, Codable {
        case loopback
        case namespaces
    }

    /// The control plane the fleet talks to.
    public enum Server: Sendable, Equatable {
        case embedded(Embedded)
        case external(External)

        /// A server the simulator starts itself, with SQLite in a temporary data directory.
        public struct Embedded: Sendable, Equatable {
            /// A child process is what makes `kill_server` (a real kill -9) possible.
            public var process: ProcessMode
            public var checkinInterval: Duration
            public var maxConcurrentDownloads: Int

            public init(process: ProcessMode = .child, checkinInterval: Duration = .seconds(300), maxConcurrentDownloads: Int = 256) {
                self.process = process
                self.checkinInterval = checkinInterval
                self.maxConcurrentDownloads = maxConcurrentDownloads
            }
        }

        /// An already running server; the simulator needs its admin key to create tokens and drivers.
        public struct External: Sendable, Equatable {
            public var url: String
            /// Absolute, resolved against the scenario file's folder.
            public var adminKeyFile: String
            /// Absolute, resolved against the scenario file's folder.
            public var caFile: String

            public init(url: String, adminKeyFile: String, caFile: String) {
                self.url = url
                self.adminKeyFile = adminKeyFile
                self.caFile = caFile
            }
        }

        public enum ProcessMode: String, Sendable, Equatable, CaseIterable, Codable {
            case child
            case inProcess = "in_process"
        }
    }

    /// The simulated Active Directory that provides users and computer accounts.
    public struct Directory: Sendable, Equatable {
        public var enabled: Bool
        public var users: Int
        public var groups: Int
        public var computers: Int
        public var seed: UInt64

        public init(enabled: Bool, users: Int, groups: Int, computers: Int, seed: UInt64) {
            self.enabled = enabled
            self.users = users
            self.groups = groups
            self.computers = computers
            self.seed = seed
        }
    }

    /// The fake printers, split evenly over the sites.
    public struct Printers: Sendable, Equatable {
        public var count: Int
        /// Relative weights; at least one is positive.
        public var protocols: [PrintProtocolKind: Double]
        /// Fraction of printers (rounded down) that get a bandwidth limit.
        public var slowFraction: Double
        /// Where the fake printers listen: on the LAN (their own addresses, the default), or
        /// deliberately on the server's address, a misconfiguration the pcap verifier must catch.
        public var placement: PrinterPlacement = .lan

        public init(count: Int, protocols: [PrintProtocolKind: Double], slowFraction: Double = 0) {
            self.count = count
            self.protocols = protocols
            self.slowFraction = slowFraction
        }

        /// The protocol of every printer, index by index: weights are turned into counts by
        /// largest remainder and interleaved, so the mix is exact and the same on every run.
        public func protocolAssignment() -> [PrintProtocolKind] {
            WeightedAssignment.assign(count: self.count, weights: self.protocols)
        }
    }

    /// Where the fake printers listen.
    public enum PrinterPlacement: String, Sendable, Equatable, CaseIterable, Codable {
        case lan
        case onServer = "on_server"
    }

    public enum PrintProtocolKind: String, Sendable, Equatable, Hashable, CaseIterable, Codable, Comparable {
        case raw
        case lpr

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The driver every printer starts with; `publish_driver` events publish newer versions.
    public struct Drivers: Sendable, Equatable {
        public var name: String
        public var version: String
        /// Bytes (sizes in the file are 1024-based).
        public var size: Int
        /// LAN driver caches (docs/driver-cache.md) the run starts, enrolls and registers.
        public var cache: DriverCaches = .none

        public init(name: String, version: String, size: Int, cache: DriverCaches = .none) {
            self.name = name
            self.version = version
            self.size = size
            self.cache = cache
        }
    }

    /// Whether agents fetch drivers through LAN caches.
    public enum DriverCaches: String, Sendable, Equatable, CaseIterable, Codable {
        /// Every agent downloads from the cloud.
        case none
        /// One cache per site, registered for the site's address range: each package crosses
        /// the WAN once per site, and agents fall back to the cloud when their cache fails.
        case perSite = "per_site"
    }

    /// The virtual workstations.
    public struct Fleet: Sendable, Equatable {
        public var agents: Int
        public var sites: Int
        public var usersPerAgent: Int
        public var token: Token
        public var enroll: Enroll

        public init(agents: Int, sites: Int, usersPerAgent: Int, token: Token, enroll: Enroll) {
            self.agents = agents
            self.sites = sites
            self.usersPerAgent = usersPerAgent
            self.token = token
            self.enroll = enroll
        }

        /// The enrollment token the whole fleet uses (named `fleet` in events).
        public struct Token: Sendable, Equatable {
            public var expires: TokenExpiry
            public var maxUses: Int?

            public init(expires: TokenExpiry, maxUses: Int? = nil) {
                self.expires = expires
                self.maxUses = maxUses
            }
        }

        /// Enrollments are spread evenly over `over`, starting at `start` (open model).
        public struct Enroll: Sendable, Equatable {
            public var start: Duration
            public var over: Duration

            public init(start: Duration, over: Duration) {
                self.start = start
                self.over = over
            }

            /// When agent `index` (0-based) of `count` is due to enroll, from run start.
            public func intendedTime(ofAgent index: Int, of count: Int) -> Duration {
                guard count > 1 else { return self.start }
                return self.start + self.over * (Double(index) / Double(count))
            }
        }
    }

    public enum TokenExpiry: Sendable, Equatable {
        case never
        /// Relative to the moment the token is created (run start for the fleet token).
        case after(Duration)
    }

    /// A stretch of the run with its own arrival rates.
    public struct Phase: Sendable, Equatable {
        public var name: String
        /// Offset from run start; the sum of the earlier phases' durations.
        public var start: Duration
        public var duration: Duration
        /// Fleet-wide check-in arrivals (on top of the agents' own interval check-ins).
        public var checkins: RateSpec?
        public var logins: RateSpec?
        public var print: PrintLoad?
        /// Pull-print releases: each picks a job held at least 2 s earlier and releases it at
        /// a random printer through the user API (`print.hold` makes held jobs).
        public var releases: RateSpec?

        public init(name: String, start: Duration, duration: Duration, checkins: RateSpec? = nil, logins: RateSpec? = nil, print: PrintLoad? = nil, releases: RateSpec? = nil) {
            self.name = name
            self.start = start
            self.duration = duration
            self.checkins = checkins
            self.logins = logins
            self.print = print
            self.releases = releases
        }

        public var end: Duration { self.start + self.duration }
    }

    /// How print jobs arrive in a phase, and what they look like.
    public struct PrintLoad: Sendable, Equatable {
        public var arrival: Arrival
        public var pages: PageDistribution
        public var documents: [DocumentKind: Double]
        public var copies: Int
        /// Fraction of jobs printed with `--hold`.
        public var hold: Double

        public init(arrival: Arrival, pages: PageDistribution, documents: [DocumentKind: Double], copies: Int = 1, hold: Double = 0) {
            self.arrival = arrival
            self.pages = pages
            self.documents = documents
            self.copies = copies
            self.hold = hold
        }

        public enum Arrival: Sendable, Equatable {
            /// Fleet-wide.
            case rate(RateSpec)
            /// Per logged-in user; the runner turns it into a rate with ``rate(loggedInUsers:)``.
            case perUserHour(Double)
        }

        /// The fleet-wide job rate for a number of logged-in users.
        public func rate(loggedInUsers: Int) -> RateSpec {
            switch self.arrival {
            case .rate(let spec): spec
            case .perUserHour(let jobs): .constant(Rate(perSecond: jobs * Double(loggedInUsers) / 3600))
            }
        }
    }

    public enum DocumentKind: String, Sendable, Equatable, Hashable, CaseIterable, Codable, Comparable {
        case postscript
        case pdf
        case pcl

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// Pages per job.
    public enum PageDistribution: Sendable, Equatable {
        case uniform(min: Int, max: Int)
        /// Page count → relative weight.
        case weighted([Int: Double])

        /// One draw, using the caller's deterministic generator.
        public func sample<G: RandomNumberGenerator>(using generator: inout G) -> Int {
            switch self {
            case .uniform(let low, let high):
                return Int.random(in: low...high, using: &generator)
            case .weighted(let weights):
                return WeightedAssignment.pick(weights, using: &generator) ?? 1
            }
        }
    }

    /// Something that happens at a fixed time of the run.
    public struct Event: Sendable, Equatable {
        public var at: Duration
        public var action: Action
        /// 1-based line in the scenario file, so the runner's messages can point at it.
        public var line: Int

        public init(at: Duration, action: Action, line: Int = 0) {
            self.at = at
            self.action = action
            self.line = line
        }

        public enum Action: Sendable, Equatable {
            /// A new driver version for every printer: the download storm.
            case publishDriver(version: String, size: Int)
            case createToken(name: String, expires: TokenExpiry, maxUses: Int?)
            /// `fleet` names the fleet's own token.
            case revokeToken(name: String)
            /// kill -9 of the embedded child server; restarted after `restartAfter` if set.
            case killServer(restartAfter: Duration?)
            case restartServer
            /// Back up after `for`, if set.
            case adDown(for: Duration?)
            case adUp
            case printerOffline(PrinterSelection, for: Duration?)
            case printerOnline(PrinterSelection)
            /// Agents lose the route to the server (namespaces topology drops the WAN link).
            case networkCut(for: Duration?)
            case networkRestore

            /// The name used in scenario files (`do:`).
            public var kind: String {
                switch self {
                case .publishDriver: "publish_driver"
                case .createToken: "create_token"
                case .revokeToken: "revoke_token"
                case .killServer: "kill_server"
                case .restartServer: "restart_server"
                case .adDown: "ad_down"
                case .adUp: "ad_up"
                case .printerOffline: "printer_offline"
                case .printerOnline: "printer_online"
                case .networkCut: "network_cut"
                case .networkRestore: "network_restore"
                }
            }
        }
    }

    /// Which printers an event acts on.
    public enum PrinterSelection: Sendable, Equatable {
        /// The first N printers.
        case first(Int)
        /// These 0-based indices.
        case indices([Int])

        /// The 0-based indices this selection names.
        public func indices(printerCount: Int) -> [Int] {
            switch self {
            case .first(let count): Array(0..<min(count, printerCount))
            case .indices(let list): list.filter { $0 >= 0 && $0 < printerCount }
            }
        }
    }

    public init(
        name: String, description: String? = nil, seed: UInt64 = 1, duration: Duration, topology: Topology = .loopback,
        server: Server = .embedded(.init()), directory: Directory, printers: Printers, drivers: Drivers, fleet: Fleet,
        phases: [Phase], events: [Event] = [], thresholds: [Threshold] = [], sourceFile: String? = nil
    ) {
        self.name = name
        self.description = description
        self.seed = seed
        self.duration = duration
        self.topology = topology
        self.server = server
        self.directory = directory
        self.printers = printers
        self.drivers = drivers
        self.fleet = fleet
        self.phases = phases
        self.events = events
        self.thresholds = thresholds
        self.sourceFile = sourceFile
    }

    /// The end of the last phase.
    public var phasesEnd: Duration { self.phases.last?.end ?? .zero }

    /// The arrival schedule of one kind of load over all phases (phases without it add a
    /// zero-rate segment, so time keeps running).
    public func schedule(_ load: KeyPath<Phase, RateSpec?>) -> ArrivalSchedule {
        ArrivalSchedule(segments: self.phases.map { phase in
            ArrivalSchedule.Segment(start: phase.start, duration: phase.duration, rate: phase[keyPath: load] ?? .constant(.zero))
        })
    }
}
