import Foundation
import NIOCore
import PrintplaneCore

/// What an admin can do, whichever front end asked: the JSON admin API (``AdminAPI``) and
/// the HTML console (``Console``) both call these, so a value the API refuses is refused
/// by the console with the same message, and every mutation is one store call that appends
/// its ``AuditEntry`` in the same transaction.
///
/// Inputs are the fields as a client sends them (strings where a form would send text);
/// every check that gives them meaning lives here, not in a front end. Front ends only
/// turn their wire format (JSON body, form fields) into these inputs and name the actor.
struct AdminOperations: Sendable {
    let configuration: ServerConfiguration
    let identity: ServerIdentity
    let store: any Store
    let planner: CheckInPlanner
    let repository: DriverRepository

    private func audit(_ actor: String, _ action: String, _ target: String, _ detail: String = "") -> AuditEntry {
        AuditEntry(at: self.configuration.clock(), actor: actor, action: action, target: target, detail: detail)
    }

    /// Accepts an ID taken from a URL path.
    static func id<Kind>(_ text: String?) throws -> Identifier<Kind> {
        guard let text, !text.isEmpty, text.utf8.count <= 128 else { throw ServerError.invalidField("missing id") }
        return Identifier(text)
    }

    // MARK: Tokens

    /// The expiries an admin may choose (DESIGN.md §3), in seconds; `never` is `nil`.
    static let tokenExpiries: [String: Int?] = ["30m": 1800, "1h": 3600, "6h": 21_600, "24h": 86_400, "48h": 172_800, "never": nil]
    /// The fixed choices in the order the console offers them.
    static let tokenExpiryChoices = ["30m", "1h", "6h", "24h", "48h", "never"]

    /// The console offers the fixed choices; scripts and the simulator may ask for any
    /// whole number of seconds, minutes or hours between 10 s and 48 h (short expiries
    /// make token expiry testable within a run). `.some(nil)` means "never".
    static func tokenExpiry(_ text: String) -> Int?? {
        if let fixed = Self.tokenExpiries[text] { return .some(fixed) }
        guard let unit = text.last, let value = Int(text.dropLast()), value > 0, text.utf8.count <= 8 else { return nil }
        let scale: Int
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        default: return nil
        }
        let seconds = value * scale
        guard (10...172_800).contains(seconds) else { return nil }
        return .some(seconds)
    }

    struct NewToken: Decodable, Sendable {
        var expiresIn: String
        var maxUses: Int?
        var label: String?
        enum CodingKeys: String, CodingKey { case expiresIn = "expires_in", maxUses = "max_uses", label }
    }

    /// Creates a token; the secret in the answer is the only copy there will ever be.
    func createToken(_ input: NewToken, actor: String) async throws -> (record: EnrollmentTokenRecord, secret: SecretToken) {
        guard let expiry = Self.tokenExpiry(input.expiresIn) else {
            throw ServerError.invalidField("expires_in must be one of 30m, 1h, 6h, 24h, 48h, never, or a duration such as 90s or 15m between 10s and 48h")
        }
        if let maxUses = input.maxUses, !(1...1_000_000).contains(maxUses) { throw ServerError.invalidField("max_uses must be between 1 and 1000000") }
        if let label = input.label, label.utf8.count > 128 { throw ServerError.invalidField("label must be at most 128 bytes") }
        let now = self.configuration.clock()
        let token = SecretToken.generate(.enrollment)
        let record = EnrollmentTokenRecord(
            id: .random(), tokenHash: token.sha256Hex, label: input.label, createdAt: now,
            expiresAt: expiry.map { now.addingTimeInterval(Double($0)) }, maxUses: input.maxUses)
        let detail = "expires_in=\(input.expiresIn) max_uses=\(input.maxUses.map(String.init) ?? "-") label=\(input.label ?? "-")"
        try await self.store.createEnrollmentToken(record, audit: self.audit(actor, "token.create", record.id.rawValue, detail))
        return (record, token)
    }

    func revokeToken(_ id: EnrollmentTokenID, actor: String) async throws -> EnrollmentTokenRecord {
        guard try await self.store.revokeEnrollmentToken(id: id, at: self.configuration.clock(), audit: self.audit(actor, "token.revoke", id.rawValue)) else {
            throw ServerError.notFound("token")
        }
        guard let record = try await self.store.enrollmentTokens().first(where: { $0.id == id }) else { throw ServerError.notFound("token") }
        return record
    }

    // MARK: Printers

    struct NewPrinter: Decodable, Sendable {
        var name: String
        var address: String
        var `protocol`: String
        var port: Int?
        var queue: String?
        var location: String?
        var site: String?
        var driverID: DriverID?
        enum CodingKeys: String, CodingKey { case name, address, `protocol`, port, queue, location, site, driverID = "driver_id" }
    }

    func createPrinter(_ input: NewPrinter, actor: String) async throws -> PrinterRecord {
        guard DriverManifest.isSafeField(input.name) else { throw ServerError.invalidField("name must be 1 to 128 characters of letters, digits, space, '.', '_', '-', '+'") }
        guard !input.address.isEmpty, input.address.utf8.count <= 253, !input.address.contains(where: { $0.isWhitespace || $0 == "/" }) else {
            throw ServerError.invalidField("address must be a host name or IP address")
        }
        guard let printerProtocol = PrinterProtocol(rawValue: input.protocol) else { throw ServerError.invalidField("protocol must be raw or lpr") }
        let port = input.port ?? printerProtocol.defaultPort
        guard (1...65535).contains(port) else { throw ServerError.invalidField("port must be between 1 and 65535") }
        for (field, value) in [("queue", input.queue), ("location", input.location), ("site", input.site)] {
            if let value, value.utf8.count > 256 { throw ServerError.invalidField("\(field) must be at most 256 bytes") }
        }
        let printer = PrinterRecord(
            id: .random(), name: input.name, address: input.address, protocol: printerProtocol, port: port,
            queue: input.queue ?? (printerProtocol == .lpr ? "lp" : nil), location: input.location, site: input.site, driverID: input.driverID)
        try await self.store.createPrinter(printer, audit: self.audit(actor, "printer.create", printer.id.rawValue, printer.name))
        return printer
    }

    func deletePrinter(_ id: PrinterID, actor: String) async throws {
        guard try await self.store.deletePrinter(id: id, audit: self.audit(actor, "printer.delete", id.rawValue)) else { throw ServerError.notFound("printer") }
    }

    /// Publishing a new driver version: agents see the new digest at their next check-in.
    func setPrinterDriver(_ id: PrinterID, driverID: DriverID?, actor: String) async throws -> PrinterRecord {
        guard try await self.store.setPrinterDriver(id: id, driverID: driverID, audit: self.audit(actor, "printer.driver", id.rawValue, driverID?.rawValue ?? "none")) else {
            throw ServerError.notFound("printer")
        }
        guard let printer = try await self.store.printers().first(where: { $0.id == id }) else { throw ServerError.notFound("printer") }
        return printer
    }

    // MARK: Profiles

    struct NewProfile: Decodable, Sendable {
        var name: String
        var duplex: String?
        var color: Bool?
        var paper: String?
        var tray: String?
        var copies: Int?
    }

    func createProfile(_ input: NewProfile, actor: String) async throws -> ProfileRecord {
        guard DriverManifest.isSafeField(input.name) else { throw ServerError.invalidField("name must be 1 to 128 characters of letters, digits, space, '.', '_', '-', '+'") }
        let duplex = try input.duplex.map { text -> PrintProfile.Duplex in
            guard let duplex = PrintProfile.Duplex(rawValue: text) else { throw ServerError.invalidField("duplex must be simplex, long_edge or short_edge") }
            return duplex
        }
        let profile = PrintProfile(duplex: duplex ?? .simplex, color: input.color ?? false, paper: input.paper ?? "A4", tray: input.tray, copies: input.copies ?? 1)
        let problems = profile.validationProblems
        guard problems.isEmpty else { throw ServerError.invalidField(problems.joined(separator: "; ")) }
        let record = ProfileRecord(id: .random(), name: input.name, profile: profile)
        try await self.store.createProfile(record, audit: self.audit(actor, "profile.create", record.id.rawValue, record.name))
        return record
    }

    func deleteProfile(_ id: ProfileID, actor: String) async throws {
        guard try await self.store.deleteProfile(id: id, audit: self.audit(actor, "profile.delete", id.rawValue)) else { throw ServerError.notFound("profile") }
    }

    // MARK: Assignments

    struct NewAssignment: Decodable, Sendable {
        /// The target as sent; ``AssignmentTarget/make(kind:value:)`` decides what it means.
        struct Target: Decodable, Sendable {
            var kind: String
            var value: String?
        }
        var printerID: PrinterID
        var profileID: ProfileID?
        var target: Target
        enum CodingKeys: String, CodingKey { case printerID = "printer_id", profileID = "profile_id", target }
    }

    /// The target's rules are Core's (``AssignmentTarget/make(kind:value:)``); its refusal
    /// message is passed on unchanged, so a kind Core learns (AD group, OU) needs no change here.
    func createAssignment(_ input: NewAssignment, actor: String) async throws -> Assignment {
        guard let kind = AssignmentTarget.Kind(rawValue: input.target.kind) else {
            throw ServerError.invalidField("target kind must be one of \(AssignmentTarget.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let target: AssignmentTarget
        switch AssignmentTarget.make(kind: kind, value: input.target.value) {
        case .success(let made): target = made
        case .failure(let error): throw ServerError.invalidField(error.message)
        }
        let assignment = Assignment(id: .random(), printerID: input.printerID, profileID: input.profileID, target: target)
        try await self.store.createAssignment(assignment, audit: self.audit(actor, "assignment.create", assignment.id.rawValue, "\(assignment.printerID) → \(assignment.target)"))
        return assignment
    }

    func deleteAssignment(_ id: AssignmentID, actor: String) async throws {
        guard try await self.store.deleteAssignment(id: id, audit: self.audit(actor, "assignment.delete", id.rawValue)) else { throw ServerError.notFound("assignment") }
    }

    // MARK: Drivers

    /// A driver package's name, version and OS as sent (query parameters or form fields).
    struct NewDriver: Sendable {
        var name: String?
        var version: String?
        var os: String?

        /// The three fields, each 1 to 128 safe characters (no `/` or `..`: they name files on agents).
        func checked() throws -> (name: String, version: String, os: String) {
            var fields = [String]()
            for (field, value) in [("name", self.name), ("version", self.version), ("os", self.os)] {
                guard let value, DriverManifest.isSafeField(value) else {
                    throw ServerError.invalidDriverName("\(field) must be 1 to 128 characters of letters, digits, space, '.', '_', '-', '+' (no '/' or '..')")
                }
                fields.append(value)
            }
            return (fields[0], fields[1], fields[2])
        }
    }

    /// Checks the fields, then streams `body` to the repository (hashing and counting, refused
    /// past the size limit without buffering), signs the manifest and records it. The fields
    /// are checked before a byte is read, so a bad name never leaves a blob behind.
    func uploadDriver<Body: AsyncSequence>(_ input: NewDriver, declaredLength: Int64?, body: Body, actor: String) async throws -> DriverRecord
    where Body.Element == ByteBuffer {
        let fields = try input.checked()
        if let declaredLength, declaredLength > self.repository.maxBytes {
            throw ServerError.bodyTooLarge(limit: Int(clamping: self.repository.maxBytes))
        }
        let (sha256, size) = try await self.repository.store(body)
        let manifest = DriverManifest(name: fields.name, version: fields.version, os: fields.os, sha256: sha256, size: size)
        let signed = try SignedDriverManifest(signing: manifest, with: self.identity.driverSigningKey)
        let record = DriverRecord(id: .random(), manifest: signed, createdAt: self.configuration.clock())
        try await self.store.createDriver(record, audit: self.audit(actor, "driver.upload", record.id.rawValue, "\(manifest.name) \(manifest.version) \(manifest.os) sha256=\(sha256) size=\(size)"))
        return record
    }

    // MARK: Agents

    func revokeAgent(_ id: AgentID, actor: String) async throws {
        guard try await self.store.revokeAgent(id: id, at: self.configuration.clock(), audit: self.audit(actor, "agent.revoke", id.rawValue)) else {
            throw ServerError.notFound("agent")
        }
        self.planner.forget(id)
    }

    // MARK: Reports

    /// Report filters from query parameters; an empty value does not filter. Times are ISO 8601
    /// (`2026-01-31T08:00:00Z`); a time without a zone (`2026-01-31T08:00`, what an HTML
    /// `datetime-local` field sends) or a bare date is read as UTC.
    static func jobFilter(_ query: (String) -> String?) throws -> JobFilter {
        func text(_ name: String) -> String? {
            guard let value = query(name), !value.isEmpty else { return nil }
            return value
        }
        func date(_ name: String) throws -> Date? {
            guard let value = text(name) else { return nil }
            guard let date = Self.parseTime(value) else { throw ServerError.invalidField("\(name) must be an ISO 8601 time such as 2026-01-31T00:00:00Z") }
            return date
        }
        return JobFilter(from: try date("from"), to: try date("to"), user: text("user"), printer: text("printer"), computer: text("computer"))
    }

    static func parseTime(_ text: String) -> Date? {
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// `limit` (1...10000) and `offset` (0 or more) from query parameters.
    static func paging(_ query: (String) -> String?, defaultLimit: Int = 100) throws -> (limit: Int, offset: Int) {
        let limit = try query("limit").flatMap { $0.isEmpty ? nil : $0 }.map { text -> Int in
            guard let value = Int(text), (1...10_000).contains(value) else { throw ServerError.invalidField("limit must be between 1 and 10000") }
            return value
        } ?? defaultLimit
        let offset = try query("offset").flatMap { $0.isEmpty ? nil : $0 }.map { text -> Int in
            guard let value = Int(text), value >= 0 else { throw ServerError.invalidField("offset must be 0 or more") }
            return value
        } ?? 0
        return (limit, offset)
    }
}
