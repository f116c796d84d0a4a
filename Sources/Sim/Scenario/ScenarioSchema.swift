import Foundation
import Yams

/// The schema of docs/scenarios.md, as code: reads each section, applies defaults, then runs
/// the cross-field checks (events against the run's length, kills against the server mode,
/// token names, printer indices). Every problem goes to the reader; nothing stops early.
struct ScenarioSchema {
    var reader: ScenarioReader
    let baseDirectory: String

    static let topLevelKeys = [
        "name", "description", "seed", "duration", "topology", "server", "directory", "printers", "drivers",
        "fleet", "phases", "events", "thresholds",
    ]
    static let eventKinds = [
        "publish_driver", "create_token", "revoke_token", "kill_server", "restart_server", "ad_down", "ad_up",
        "printer_offline", "printer_online", "network_cut", "network_restore",
    ]
    /// The keys each event kind takes besides `at` and `do`.
    static let eventKeys: [String: [String]] = [
        "publish_driver": ["version", "size"],
        "create_token": ["name", "expires", "max_uses"],
        "revoke_token": ["token"],
        "kill_server": ["restart_after"],
        "restart_server": [],
        "ad_down": ["for"],
        "ad_up": [],
        "printer_offline": ["printers", "for"],
        "printer_online": ["printers"],
        "network_cut": ["for"],
        "network_restore": [],
    ]
    static let maximumAgents = 100_000
    static let tokenExpiryRange: ClosedRange<Duration> = .seconds(10) ... .seconds(48 * 3600)
    /// What the run adds after the last phase, by default, for in-flight work to finish.
    static let defaultDrain: Duration = .seconds(30)

    init(reader: ScenarioReader, baseDirectory: String) {
        self.reader = reader
        self.baseDirectory = baseDirectory
    }

    mutating func scenario(_ root: Node, sourceFile: String) -> Scenario? {
        guard case .mapping = root else {
            self.reader.error(root, "", "the top level must be a mapping of keys like `name:` and `phases:`, got \(root.yamlKind)", suggestion: "start from scenarios/quickstart.yaml")
            return nil
        }
        guard let top = self.reader.mapping(root, "", allowed: Self.topLevelKeys) else { return nil }

        var name: String?
        if let node = self.reader.require(top, "name", "", example: "quickstart"), let text = self.reader.string(node, "name") {
            if text.range(of: "^[a-z0-9-]{1,64}$", options: .regularExpression) != nil {
                name = text
            } else {
                self.reader.error(node, "name", "must be 1 to 64 lowercase letters, digits or dashes, got \"\(text)\"", suggestion: "e.g. name: \(Self.slug(text))")
            }
        }
        let description = top["description"].flatMap { self.reader.string($0, "description") }
        var seed: UInt64 = 1
        if let node = top["seed"], let value = self.reader.int(node, "seed", min: 0) { seed = UInt64(value) }
        let topology = top["topology"].map { self.reader.choice($0, "topology", Scenario.Topology.self) } ?? .loopback

        let server = self.server(top["server"])
        let serverKind = server ?? Self.declaredServerKind(top["server"])
        let fleet = self.fleet(top["fleet"])
        let directory = self.directory(top["directory"], agents: fleet?.agents ?? 1, seed: seed)
        let printers = self.printers(top["printers"])
        let drivers = self.drivers(top["drivers"])
        let phases = self.phases(top["phases"], at: top.mark)

        let phasesEnd = phases?.last?.end ?? .zero
        var duration = phasesEnd + Self.defaultDrain
        var durationNode: Node?
        if let node = top["duration"], let value = self.reader.duration(node, "duration", positive: true) {
            duration = value
            durationNode = node
            if phases != nil, value < phasesEnd {
                self.reader.error(node, "duration", "the run is capped at \(ScenarioUnits.format(value)) but its phases last \(ScenarioUnits.format(phasesEnd))", suggestion: "raise duration to at least \(ScenarioUnits.format(phasesEnd)) or shorten the phases")
            }
        }
        if let fleet, let node = top["fleet"], fleet.enroll.start + fleet.enroll.over > duration {
            self.reader.warning(node, "fleet.enroll", "enrollments run until \(ScenarioUnits.format(fleet.enroll.start + fleet.enroll.over)), after the run ends at \(ScenarioUnits.format(duration)); later agents never enroll")
        }

        let events = self.events(top["events"], duration: duration, durationWasSet: durationNode != nil, server: serverKind, printerCount: printers?.count, driverSize: drivers?.size ?? 1024 * 1024)
        let thresholds = self.thresholds(top["thresholds"])

        guard let name, let server, let fleet, let directory, let printers, let drivers, let phases, let events, let thresholds,
              let topology
        else { return nil }
        return Scenario(
            name: name, description: description, seed: seed, duration: duration, topology: topology, server: server,
            directory: directory, printers: printers, drivers: drivers, fleet: fleet, phases: phases, events: events,
            thresholds: thresholds, sourceFile: sourceFile
        )
    }

    // MARK: - Sections

    mutating func server(_ node: Node?) -> Scenario.Server? {
        guard let node else { return .embedded(.init()) }
        let path = "server"
        let allowed = ["mode", "process", "url", "admin_key_file", "ca_file", "checkin_interval", "max_concurrent_downloads"]
        guard let fields = self.reader.mapping(node, path, allowed: allowed) else { return nil }
        var mode = "embedded"
        if let modeNode = fields["mode"], let text = self.reader.string(modeNode, "server.mode") {
            if ["embedded", "external"].contains(text) {
                mode = text
            } else {
                self.reader.error(modeNode, "server.mode", "invalid value \"\(text)\"", suggestion: Suggestion.enumHint(text, valid: ["embedded", "external"]))
                return nil
            }
        }
        if mode == "external" {
            for key in ["process", "checkin_interval", "max_concurrent_downloads"] where fields.has(key) {
                self.reader.error(fields.keys[key], "server.\(key)", "only applies to mode embedded; an external server has its own settings", suggestion: "remove it, or set mode: embedded")
            }
            let url = self.reader.require(fields, "url", path, example: "https://printplane.example.com:8443").flatMap { self.reader.string($0, "server.url") }
            if let url, let node = fields["url"] {
                let parsed = URL(string: url)
                if parsed?.scheme != "https" || parsed?.host == nil {
                    self.reader.error(node, "server.url", "expected an https URL like https://host:8443, got \"\(url)\"")
                }
            }
            let key = self.existingFile(fields, "admin_key_file", path, example: "/var/lib/printplane/admin.key")
            let ca = self.existingFile(fields, "ca_file", path, example: "/var/lib/printplane/ca.pem")
            guard let url, let key, let ca else { return nil }
            return .external(.init(url: url, adminKeyFile: key, caFile: ca))
        }
        for key in ["url", "admin_key_file", "ca_file"] where fields.has(key) {
            self.reader.error(fields.keys[key], "server.\(key)", "only applies to mode external; the embedded server makes its own", suggestion: "set mode: external to use an existing server")
        }
        var embedded = Scenario.Server.Embedded()
        if let node = fields["process"] {
            guard let process = self.reader.choice(node, "server.process", Scenario.Server.ProcessMode.self) else { return nil }
            embedded.process = process
        }
        if let node = fields["checkin_interval"] {
            guard let value = self.reader.duration(node, "server.checkin_interval", positive: true) else { return nil }
            embedded.checkinInterval = value
        }
        if let node = fields["max_concurrent_downloads"] {
            guard let value = self.reader.int(node, "server.max_concurrent_downloads", min: 1) else { return nil }
            embedded.maxConcurrentDownloads = value
        }
        return .embedded(embedded)
    }

    /// What kind of server the file asks for even when its section has errors, so event
    /// checks (kill_server needs a child process) still run and report their own problems.
    static func declaredServerKind(_ node: Node?) -> Scenario.Server? {
        guard let mapping = node?.mapping else { return node == nil ? .embedded(.init()) : nil }
        if mapping["mode"]?.scalar?.string == "external" {
            return .external(.init(url: "", adminKeyFile: "", caFile: ""))
        }
        let process = mapping["process"]?.scalar.flatMap { Scenario.Server.ProcessMode(rawValue: $0.string) } ?? .child
        return .embedded(.init(process: process))
    }

    mutating func existingFile(_ fields: ScenarioReader.Fields, _ key: String, _ path: String, example: String) -> String? {
        let fieldPath = ScenarioReader.join(path, key)
        guard let node = self.reader.require(fields, key, path, example: example), let text = self.reader.string(node, fieldPath) else { return nil }
        let resolved = text.hasPrefix("/") ? text : URL(fileURLWithPath: self.baseDirectory).appendingPathComponent(text).standardizedFileURL.path
        guard FileManager.default.isReadableFile(atPath: resolved) else {
            self.reader.error(node, fieldPath, "no readable file at \(resolved)", suggestion: text.hasPrefix("/") ? nil : "relative paths are resolved against the scenario file's folder")
            return nil
        }
        return resolved
    }

    mutating func fleet(_ node: Node?) -> Scenario.Fleet? {
        let path = "fleet"
        guard let node else {
            return Scenario.Fleet(agents: 10, sites: 1, usersPerAgent: 1, token: .init(expires: .after(.seconds(1800)), maxUses: nil), enroll: .init(start: .zero, over: .seconds(10)))
        }
        guard let fields = self.reader.mapping(node, path, allowed: ["agents", "sites", "users_per_agent", "token", "enroll"]) else { return nil }
        let agents = self.reader.require(fields, "agents", path, example: "50").flatMap { self.reader.int($0, "fleet.agents", min: 1, max: Self.maximumAgents) }
        var sites = 1
        if let node = fields["sites"] {
            guard let value = self.reader.int(node, "fleet.sites", min: 1) else { return nil }
            sites = value
            if let agents, value > agents {
                self.reader.error(node, "fleet.sites", "\(value) sites for \(agents) agents leaves sites empty", suggestion: "use at most \(agents) sites")
            }
        }
        var usersPerAgent = 1
        if let node = fields["users_per_agent"] {
            guard let value = self.reader.int(node, "fleet.users_per_agent", min: 1, max: 1000) else { return nil }
            usersPerAgent = value
        }
        var token = Scenario.Fleet.Token(expires: .after(.seconds(1800)), maxUses: nil)
        if let tokenNode = fields["token"] {
            guard let tokenFields = self.reader.mapping(tokenNode, "fleet.token", allowed: ["expires", "max_uses"]) else { return nil }
            if let node = tokenFields["expires"] {
                guard let expiry = self.expiry(node, "fleet.token.expires") else { return nil }
                token.expires = expiry
            }
            if let node = tokenFields["max_uses"] {
                guard let value = self.reader.int(node, "fleet.token.max_uses", min: 1) else { return nil }
                token.maxUses = value
            }
        }
        var enroll = Scenario.Fleet.Enroll(start: .zero, over: .seconds(10))
        if let enrollNode = fields["enroll"] {
            guard let enrollFields = self.reader.mapping(enrollNode, "fleet.enroll", allowed: ["start", "over"]) else { return nil }
            if let node = enrollFields["start"] {
                guard let value = self.reader.duration(node, "fleet.enroll.start") else { return nil }
                enroll.start = value
            }
            if let node = enrollFields["over"] {
                guard let value = self.reader.duration(node, "fleet.enroll.over") else { return nil }
                enroll.over = value
            }
        }
        guard let agents else { return nil }
        return Scenario.Fleet(agents: agents, sites: sites, usersPerAgent: usersPerAgent, token: token, enroll: enroll)
    }

    mutating func expiry(_ node: Node, _ path: String) -> Scenario.TokenExpiry? {
        if case .scalar(let scalar) = node, scalar.string == "never" { return .never }
        guard case .scalar(let scalar) = node, ScenarioUnits.duration(scalar.string) != nil else {
            self.reader.error(node, path, "expected `never` or a duration from 10s to 48h, got \(node.describedValue)")
            return nil
        }
        guard let value = self.reader.duration(node, path, positive: true) else { return nil }
        guard Self.tokenExpiryRange.contains(value) else {
            self.reader.error(node, path, "token lifetimes must be from 10s to 48h, got \(scalar.string)", suggestion: "or `never`")
            return nil
        }
        return .after(value)
    }

    mutating func directory(_ node: Node?, agents: Int, seed: UInt64) -> Scenario.Directory? {
        var directory = Scenario.Directory(enabled: true, users: 10 * agents, groups: max(1, agents / 5), computers: agents, seed: seed)
        guard let node else { return directory }
        guard let fields = self.reader.mapping(node, "directory", allowed: ["enabled", "users", "groups", "computers", "seed"]) else { return nil }
        var ok = true
        if let node = fields["enabled"] {
            if let value = self.reader.bool(node, "directory.enabled") { directory.enabled = value } else { ok = false }
        }
        if let node = fields["users"] {
            if let value = self.reader.int(node, "directory.users", min: 1, max: 1_000_000) { directory.users = value } else { ok = false }
        }
        if let node = fields["groups"] {
            if let value = self.reader.int(node, "directory.groups", min: 0, max: 100_000) { directory.groups = value } else { ok = false }
        }
        if let node = fields["computers"] {
            if let value = self.reader.int(node, "directory.computers", min: 0, max: 1_000_000) { directory.computers = value } else { ok = false }
        }
        if let node = fields["seed"] {
            if let value = self.reader.int(node, "directory.seed", min: 0) { directory.seed = UInt64(value) } else { ok = false }
        }
        return ok ? directory : nil
    }

    mutating func printers(_ node: Node?) -> Scenario.Printers? {
        var printers = Scenario.Printers(count: 1, protocols: [.raw: 1], slowFraction: 0)
        guard let node else { return printers }
        guard let fields = self.reader.mapping(node, "printers", allowed: ["count", "protocols", "slow_fraction", "placement"]) else { return nil }
        var ok = true
        if let node = fields["count"] {
            if let value = self.reader.int(node, "printers.count", min: 1, max: 10_000) { printers.count = value } else { ok = false }
        }
        if let node = fields["protocols"] {
            if let value = self.reader.weights(node, "printers.protocols", Scenario.PrintProtocolKind.self) { printers.protocols = value } else { ok = false }
        }
        if let node = fields["slow_fraction"] {
            if let value = self.reader.number(node, "printers.slow_fraction", min: 0, max: 1) { printers.slowFraction = value } else { ok = false }
        }
        if let node = fields["placement"] {
            if let value = self.reader.choice(node, "printers.placement", Scenario.PrinterPlacement.self) { printers.placement = value } else { ok = false }
        }
        return ok ? printers : nil
    }

    mutating func drivers(_ node: Node?) -> Scenario.Drivers? {
        var drivers = Scenario.Drivers(name: "Generic PCL6", version: "1.0", size: 1024 * 1024)
        guard let node else { return drivers }
        guard let fields = self.reader.mapping(node, "drivers", allowed: ["name", "version", "size", "cache"]) else { return nil }
        var ok = true
        if let node = fields["name"] {
            if let value = self.reader.string(node, "drivers.name"), !value.isEmpty { drivers.name = value } else { ok = false }
        }
        if let node = fields["version"] {
            if let value = self.reader.string(node, "drivers.version"), !value.isEmpty { drivers.version = value } else { ok = false }
        }
        if let node = fields["size"] {
            if let value = self.reader.size(node, "drivers.size") { drivers.size = value } else { ok = false }
        }
        if let node = fields["cache"] {
            if let value = self.reader.choice(node, "drivers.cache", Scenario.DriverCaches.self) { drivers.cache = value } else { ok = false }
        }
        return ok ? drivers : nil
    }

    mutating func phases(_ node: Node?, at mark: Mark?) -> [Scenario.Phase]? {
        guard let node else {
            self.reader.error(at: mark, "phases", "required key is missing", suggestion: "e.g. phases: [{ name: steady, duration: 40s, checkins: 20/s }]")
            return nil
        }
        guard case .sequence(let sequence) = node else {
            self.reader.error(node, "phases", "expected a list of phases (lines starting with `- name:`), got \(node.yamlKind)")
            return nil
        }
        guard !sequence.isEmpty else {
            self.reader.error(node, "phases", "at least one phase is needed")
            return nil
        }
        var phases: [Scenario.Phase] = []
        var names: [String: Int] = [:]
        var ok = true
        var start = Duration.zero
        for (index, element) in sequence.enumerated() {
            let path = "phases[\(index)]"
            guard var phase = self.phase(element, path) else {
                ok = false
                continue
            }
            if let first = names[phase.name] {
                self.reader.error(element.mapping?["name"] ?? element, "\(path).name", "duplicate phase name \"\(phase.name)\"", suggestion: "already used by phases[\(first)]; names must be unique")
                ok = false
            }
            names[phase.name] = index
            phase.start = start
            start = start + phase.duration
            phases.append(phase)
        }
        return ok ? phases : nil
    }

    mutating func phase(_ node: Node, _ path: String) -> Scenario.Phase? {
        guard let fields = self.reader.mapping(node, path, allowed: ["name", "duration", "checkins", "logins", "print", "release"]) else { return nil }
        let name = self.reader.require(fields, "name", path, example: "steady").flatMap { self.reader.string($0, "\(path).name") }
        let duration = self.reader.require(fields, "duration", path, example: "40s").flatMap { self.reader.duration($0, "\(path).duration", positive: true) }
        var ok = name != nil && duration != nil
        var checkins: RateSpec?
        var logins: RateSpec?
        var print: Scenario.PrintLoad?
        var releases: RateSpec?
        if let node = fields["checkins"] {
            checkins = self.reader.rateSpec(node, "\(path).checkins")
            ok = ok && checkins != nil
        }
        if let node = fields["logins"] {
            logins = self.reader.rateSpec(node, "\(path).logins")
            ok = ok && logins != nil
        }
        if let node = fields["print"] {
            print = self.printLoad(node, "\(path).print")
            ok = ok && print != nil
        }
        if let node = fields["release"] {
            releases = self.reader.rateSpec(node, "\(path).release")
            ok = ok && releases != nil
        }
        if ok, checkins == nil, logins == nil, print == nil, releases == nil {
            self.reader.warning(node, path, "phase \"\(name ?? "")\" declares no load (checkins, logins, print or release): only the agents' own interval check-ins run", suggestion: "add e.g. checkins: 20/s, or ignore this for an idle phase")
        }
        guard ok, let name, let duration else { return nil }
        return Scenario.Phase(name: name, start: .zero, duration: duration, checkins: checkins, logins: logins, print: print, releases: releases)
    }

    mutating func printLoad(_ node: Node, _ path: String) -> Scenario.PrintLoad? {
        guard let fields = self.reader.mapping(node, path, allowed: ["rate", "jobs_per_user_hour", "pages", "documents", "copies", "hold"]) else { return nil }
        var ok = true
        var arrival: Scenario.PrintLoad.Arrival?
        switch (fields["rate"], fields["jobs_per_user_hour"]) {
        case (let rate?, nil):
            arrival = self.reader.rateSpec(rate, "\(path).rate").map { .rate($0) }
        case (nil, let perUser?):
            arrival = self.reader.number(perUser, "\(path).jobs_per_user_hour", min: 0, max: 10_000).map { .perUserHour($0) }
        case (_?, let perUser?):
            self.reader.error(fields.keys["jobs_per_user_hour"] ?? perUser, "\(path).jobs_per_user_hour", "give either rate or jobs_per_user_hour, not both")
        case (nil, nil):
            self.reader.error(at: fields.mark, path, "needs a job arrival rate", suggestion: "add rate: 5/s (fleet-wide) or jobs_per_user_hour: 30 (per logged-in user)")
        }
        ok = ok && arrival != nil
        var pages = Scenario.PageDistribution.uniform(min: 1, max: 5)
        if let node = fields["pages"] {
            if let value = self.pages(node, "\(path).pages") { pages = value } else { ok = false }
        }
        var documents: [Scenario.DocumentKind: Double] = [.postscript: 1, .pdf: 1, .pcl: 1]
        if let node = fields["documents"] {
            if let value = self.reader.weights(node, "\(path).documents", Scenario.DocumentKind.self) { documents = value } else { ok = false }
        }
        var copies = 1
        if let node = fields["copies"] {
            if let value = self.reader.int(node, "\(path).copies", min: 1, max: 999) { copies = value } else { ok = false }
        }
        var hold = 0.0
        if let node = fields["hold"] {
            if let value = self.reader.number(node, "\(path).hold", min: 0, max: 1) { hold = value } else { ok = false }
        }
        guard ok, let arrival else { return nil }
        return Scenario.PrintLoad(arrival: arrival, pages: pages, documents: documents, copies: copies, hold: hold)
    }

    mutating func pages(_ node: Node, _ path: String) -> Scenario.PageDistribution? {
        guard case .mapping(let mapping) = node else {
            self.reader.error(node, path, "expected { min: 1, max: 10 } or weights like { 1: 5, 3: 3, 10: 1 }, got \(node.yamlKind)")
            return nil
        }
        let keys = mapping.keys.compactMap { $0.scalar?.string }
        if keys.contains("min") || keys.contains("max") {
            guard let fields = self.reader.mapping(node, path, allowed: ["min", "max"]) else { return nil }
            let low = self.reader.require(fields, "min", path, example: "1").flatMap { self.reader.int($0, "\(path).min", min: 1, max: 10_000) }
            let high = self.reader.require(fields, "max", path, example: "10").flatMap { self.reader.int($0, "\(path).max", min: 1, max: 10_000) }
            guard let low, let high else { return nil }
            guard low <= high else {
                self.reader.error(fields["max"], "\(path).max", "max (\(high)) is below min (\(low))")
                return nil
            }
            return .uniform(min: low, max: high)
        }
        var weights: [Int: Double] = [:]
        var ok = true
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? ""
            guard let pages = Int(key), pages >= 1, pages <= 10_000 else {
                self.reader.error(keyNode, "\(path).\(key)", "page weights are keyed by a page count from 1 to 10000, got \"\(key)\"", suggestion: "or use { min: 1, max: 10 }")
                ok = false
                continue
            }
            if let weight = self.reader.number(value, "\(path).\(key)", min: 0) { weights[pages] = weight } else { ok = false }
        }
        guard ok else { return nil }
        guard weights.values.contains(where: { $0 > 0 }) else {
            self.reader.error(node, path, "at least one page weight must be greater than zero")
            return nil
        }
        return .weighted(weights)
    }

    // MARK: - Events

    mutating func events(_ node: Node?, duration: Duration, durationWasSet: Bool, server: Scenario.Server?, printerCount: Int?, driverSize: Int) -> [Scenario.Event]? {
        guard let node else { return [] }
        guard case .sequence(let sequence) = node else {
            self.reader.error(node, "events", "expected a list of events (lines starting with `- at:`), got \(node.yamlKind)")
            return nil
        }
        var parsed: [(event: Scenario.Event, node: Node, path: String)] = []
        var ok = true
        for (index, element) in sequence.enumerated() {
            let path = "events[\(index)]"
            guard let event = self.event(element, path, printerCount: printerCount, driverSize: driverSize) else {
                ok = false
                continue
            }
            if event.at >= duration {
                let why = durationWasSet ? "duration" : "the phases plus the 30s drain"
                self.reader.error(element.mapping?["at"] ?? element, "\(path).at", "at \(ScenarioUnits.format(event.at)) is after the run ends (\(ScenarioUnits.format(duration)), from \(why))", suggestion: "move it before \(ScenarioUnits.format(duration)) or lengthen the phases")
                ok = false
            }
            parsed.append((event, element, path))
        }
        parsed.sort { $0.event.at < $1.event.at }
        ok = self.checkEventSequence(parsed, server: server) && ok
        return ok ? parsed.map(\.event) : nil
    }

    mutating func event(_ node: Node, _ path: String, printerCount: Int?, driverSize: Int) -> Scenario.Event? {
        guard case .mapping(let mapping) = node else {
            self.reader.error(node, path, "expected an event like { at: 20s, do: publish_driver, version: \"2.0\" }, got \(node.yamlKind)")
            return nil
        }
        let kindNode = mapping["do"]
        var kind: String?
        if let kindNode, let text = self.reader.string(kindNode, "\(path).do") {
            if Self.eventKinds.contains(text) {
                kind = text
            } else {
                self.reader.error(kindNode, "\(path).do", "unknown event \"\(text)\"", suggestion: Suggestion.enumHint(text, valid: Self.eventKinds))
            }
        }
        let extra = kind.flatMap { Self.eventKeys[$0] } ?? Array(Set(Self.eventKeys.values.joined())).sorted()
        guard let fields = self.reader.mapping(node, path, allowed: ["at", "do"] + extra) else { return nil }
        if kindNode == nil {
            self.reader.error(at: fields.mark, "\(path).do", "required key is missing", suggestion: "one of " + Self.eventKinds.joined(separator: ", "))
        }
        let at = self.reader.require(fields, "at", path, example: "20s").flatMap { self.reader.duration($0, "\(path).at") }
        guard let kind, let at else { return nil }
        let line = node.mark?.line ?? 0
        let action: Scenario.Event.Action?
        switch kind {
        case "publish_driver":
            let version = self.reader.require(fields, "version", path, example: "\"2.0\"").flatMap { self.reader.string($0, "\(path).version") }
            var size: Int? = driverSize
            if let node = fields["size"] { size = self.reader.size(node, "\(path).size") }
            action = version.flatMap { version in size.map { .publishDriver(version: version, size: $0) } }
        case "create_token":
            let name = self.reader.require(fields, "name", path, example: "late").flatMap { self.reader.string($0, "\(path).name") }
            var expires: Scenario.TokenExpiry? = .never
            if let node = fields["expires"] { expires = self.expiry(node, "\(path).expires") }
            var maxUses: Int?? = .some(nil)
            if let node = fields["max_uses"] { maxUses = self.reader.int(node, "\(path).max_uses", min: 1).map { .some($0) } }
            if let name, let expires, let maxUses { action = .createToken(name: name, expires: expires, maxUses: maxUses) } else { action = nil }
        case "revoke_token":
            action = self.reader.require(fields, "token", path, example: "fleet").flatMap { self.reader.string($0, "\(path).token") }.map { .revokeToken(name: $0) }
        case "kill_server":
            var after: Duration?? = .some(nil)
            if let node = fields["restart_after"] { after = self.reader.duration(node, "\(path).restart_after", positive: true).map { .some($0) } }
            action = after.map { .killServer(restartAfter: $0) }
        case "restart_server":
            action = .restartServer
        case "ad_down", "network_cut":
            var span: Duration?? = .some(nil)
            if let node = fields["for"] { span = self.reader.duration(node, "\(path).for", positive: true).map { .some($0) } }
            action = span.map { kind == "ad_down" ? .adDown(for: $0) : .networkCut(for: $0) }
        case "ad_up":
            action = .adUp
        case "network_restore":
            action = .networkRestore
        case "printer_offline", "printer_online":
            let selection = self.reader.require(fields, "printers", path, example: "1 (the first printer) or [0, 3]").flatMap { self.printerSelection($0, "\(path).printers", printerCount: printerCount) }
            var span: Duration?? = .some(nil)
            if kind == "printer_offline", let node = fields["for"] { span = self.reader.duration(node, "\(path).for", positive: true).map { .some($0) } }
            if let selection, let span {
                action = kind == "printer_offline" ? .printerOffline(selection, for: span) : .printerOnline(selection)
            } else {
                action = nil
            }
        default:
            action = nil
        }
        guard let action else { return nil }
        return Scenario.Event(at: at, action: action, line: line)
    }

    mutating func printerSelection(_ node: Node, _ path: String, printerCount: Int?) -> Scenario.PrinterSelection? {
        switch node {
        case .scalar:
            guard let count = self.reader.int(node, path, min: 1) else { return nil }
            if let printerCount, count > printerCount {
                self.reader.error(node, path, "\(count) printers, but the scenario has only \(printerCount)", suggestion: "use at most \(printerCount)")
                return nil
            }
            return .first(count)
        case .sequence(let sequence):
            var indices: [Int] = []
            var ok = true
            for (offset, element) in sequence.enumerated() {
                guard let index = self.reader.int(element, "\(path)[\(offset)]", min: 0) else {
                    ok = false
                    continue
                }
                if let printerCount, index >= printerCount {
                    self.reader.error(element, "\(path)[\(offset)]", "printer index \(index) is out of range: the scenario has \(printerCount) printer\(printerCount == 1 ? "" : "s")", suggestion: "indices are 0 to \(printerCount - 1)")
                    ok = false
                }
                indices.append(index)
            }
            guard ok else { return nil }
            guard !indices.isEmpty else {
                self.reader.error(node, path, "the list of printer indices is empty")
                return nil
            }
            return .indices(indices)
        default:
            self.reader.error(node, path, "expected a count (the first N printers) or a list of indices like [0, 3], got \(node.yamlKind)")
            return nil
        }
    }

    /// The checks that need the events in time order: server state, token names.
    mutating func checkEventSequence(_ events: [(event: Scenario.Event, node: Node, path: String)], server: Scenario.Server?) -> Bool {
        var ok = true
        var tokens: [String: Duration] = ["fleet": .zero]
        var serverDownSince: Duration?
        var restartAt: Duration?
        var versions: Set<String> = []
        for (event, node, path) in events {
            if let due = restartAt, due <= event.at {
                serverDownSince = nil
                restartAt = nil
            }
            let atNode = node.mapping?["at"] ?? node
            switch event.action {
            case .killServer(let restartAfter):
                switch server {
                case .external?:
                    self.reader.error(node.mapping?["do"] ?? node, "\(path).do", "kill_server needs the embedded server; an external server cannot be killed by the simulator", suggestion: "use server.mode: embedded with process: child")
                    ok = false
                case .embedded(let embedded)? where embedded.process == .inProcess:
                    self.reader.error(node.mapping?["do"] ?? node, "\(path).do", "kill_server needs server.process: child (kill -9 of an in-process server would kill the simulator)", suggestion: "set server.process: child")
                    ok = false
                default:
                    break
                }
                if serverDownSince != nil {
                    self.reader.error(atNode, "\(path).at", "the server is already down at \(ScenarioUnits.format(event.at))", suggestion: "restart it first (restart_server or restart_after)")
                    ok = false
                }
                serverDownSince = event.at
                restartAt = restartAfter.map { event.at + $0 }
            case .restartServer:
                if serverDownSince == nil {
                    self.reader.error(node.mapping?["do"] ?? node, "\(path).do", "restart_server at \(ScenarioUnits.format(event.at)) without an earlier kill_server", suggestion: "add a kill_server event before it")
                    ok = false
                }
                serverDownSince = nil
                restartAt = nil
            case .createToken(let name, _, _):
                if let earlier = tokens[name] {
                    let what = name == "fleet" ? "\"fleet\" is the fleet's own token" : "token \"\(name)\" is already created at \(ScenarioUnits.format(earlier))"
                    self.reader.error(node.mapping?["name"] ?? node, "\(path).name", "duplicate token name: \(what)", suggestion: "token names must be unique")
                    ok = false
                }
                tokens[name] = event.at
            case .revokeToken(let name):
                if tokens[name] == nil {
                    // Suggest among every token the file creates, saying when a match only exists later.
                    var created: [String: Duration] = ["fleet": .zero]
                    for other in events {
                        if case .createToken(let otherName, _, _) = other.event.action, created[otherName] == nil { created[otherName] = other.event.at }
                    }
                    let suggestion: String
                    if let guess = created[name] != nil ? name : Suggestion.closest(to: name, in: created.keys.sorted()), let when = created[guess] {
                        let timing = when > event.at ? " (created at \(ScenarioUnits.format(when)), after this revoke)" : ""
                        suggestion = (guess == name ? "`\(name)` exists" : "did you mean `\(guess)`?") + timing
                    } else {
                        suggestion = "known tokens: " + created.keys.sorted().joined(separator: ", ")
                    }
                    self.reader.error(node.mapping?["token"] ?? node, "\(path).token", "unknown token \"\(name)\" at \(ScenarioUnits.format(event.at))", suggestion: suggestion)
                    ok = false
                }
            case .publishDriver(let version, _):
                if versions.contains(version) {
                    self.reader.error(node.mapping?["version"] ?? node, "\(path).version", "driver version \"\(version)\" is already published", suggestion: "each publish_driver needs a new version")
                    ok = false
                }
                versions.insert(version)
            default:
                break
            }
        }
        return ok
    }

    // MARK: - Thresholds

    mutating func thresholds(_ node: Node?) -> [Threshold]? {
        guard let node else { return [] }
        guard case .sequence(let sequence) = node else {
            self.reader.error(node, "thresholds", "expected a list of thresholds like - \"checkin.p99 < 200ms\", got \(node.yamlKind)")
            return nil
        }
        var thresholds: [Threshold] = []
        var ok = true
        for (index, element) in sequence.enumerated() {
            let path = "thresholds[\(index)]"
            let result: Result<Threshold, Threshold.ParseError>
            switch element {
            case .scalar(let scalar):
                result = Threshold.parse(scalar.string)
            case .mapping:
                guard let fields = self.reader.mapping(element, path, allowed: ["metric", "op", "value", "optional"]) else {
                    ok = false
                    continue
                }
                let metric = self.reader.require(fields, "metric", path, example: "checkin.p99").flatMap { self.reader.string($0, "\(path).metric") }
                let op = self.reader.require(fields, "op", path, example: "\"<\"").flatMap { self.reader.string($0, "\(path).op") }
                let value = self.reader.require(fields, "value", path, example: "200ms").flatMap { self.reader.string($0, "\(path).value") }
                var optional: Bool? = false
                if let node = fields["optional"] { optional = self.reader.bool(node, "\(path).optional") }
                guard let metric, let op, let value, let optional else {
                    ok = false
                    continue
                }
                result = Threshold.make(metric: metric, op: op, value: value, optional: optional)
            default:
                self.reader.error(element, path, "expected \"metric op value\" or { metric, op, value, optional }, got \(element.yamlKind)")
                ok = false
                continue
            }
            switch result {
            case .success(let threshold):
                thresholds.append(threshold)
            case .failure(let error):
                self.reader.error(element, path, error.message, suggestion: error.suggestion)
                ok = false
            }
        }
        return ok ? thresholds : nil
    }

    static func slug(_ text: String) -> String {
        let lowered = text.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        let slug = String(lowered).split(separator: "-").joined(separator: "-")
        return slug.isEmpty ? "my-scenario" : String(slug.prefix(64))
    }
}
