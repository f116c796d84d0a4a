import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PrintplaneCore

/// The admin half of the API (`/api/v1/admin/...`): tokens, printers, drivers, profiles,
/// assignments, agents, reports and the audit log. Every call needs the admin key; every
/// mutation is audited in the same transaction.
struct AdminAPI: Sendable {
    let configuration: ServerConfiguration
    let identity: ServerIdentity
    let store: any Store
    let planner: CheckInPlanner
    let repository: DriverRepository

    func register(on table: RouteTable) {
        table.add(.get, "/api/v1/admin/tokens") { r, c in try await self.listTokens(r, c) }
        table.add(.post, "/api/v1/admin/tokens") { r, c in try await self.createToken(r, c) }
        table.add(.post, "/api/v1/admin/tokens/{id}/revoke") { r, c in try await self.revokeToken(r, c) }
        table.add(.get, "/api/v1/admin/printers") { r, c in try await self.listPrinters(r, c) }
        table.add(.post, "/api/v1/admin/printers") { r, c in try await self.createPrinter(r, c) }
        table.add(.delete, "/api/v1/admin/printers/{id}") { r, c in try await self.deletePrinter(r, c) }
        table.add(.put, "/api/v1/admin/printers/{id}/driver") { r, c in try await self.setPrinterDriver(r, c) }
        table.add(.get, "/api/v1/admin/profiles") { r, c in try await self.listProfiles(r, c) }
        table.add(.post, "/api/v1/admin/profiles") { r, c in try await self.createProfile(r, c) }
        table.add(.delete, "/api/v1/admin/profiles/{id}") { r, c in try await self.deleteProfile(r, c) }
        table.add(.get, "/api/v1/admin/assignments") { r, c in try await self.listAssignments(r, c) }
        table.add(.post, "/api/v1/admin/assignments") { r, c in try await self.createAssignment(r, c) }
        table.add(.delete, "/api/v1/admin/assignments/{id}") { r, c in try await self.deleteAssignment(r, c) }
        table.add(.get, "/api/v1/admin/drivers") { r, c in try await self.listDrivers(r, c) }
        table.add(.post, "/api/v1/admin/drivers") { r, c in try await self.uploadDriver(r, c) }
        table.add(.get, "/api/v1/admin/agents") { r, c in try await self.listAgents(r, c) }
        table.add(.post, "/api/v1/admin/agents/{id}/revoke") { r, c in try await self.revokeAgent(r, c) }
        table.add(.get, "/api/v1/admin/reports/jobs") { r, c in try await self.jobReport(r, c) }
        table.add(.get, "/api/v1/admin/reports/totals") { r, c in try await self.jobTotals(r, c) }
        table.add(.get, "/api/v1/admin/reports/held") { r, c in try await self.heldTotals(r, c) }
        table.add(.get, "/api/v1/admin/audit") { r, c in try await self.audit(r, c) }
    }

    /// Checks the admin key and names the actor for the audit log.
    func authorize(_ request: Request, _ context: ServerRequestContext) throws -> String {
        guard let header = request.headers[.authorization] else { throw ServerError.credentialMissing }
        guard header.hasPrefix("Bearer ") else { throw ServerError.credentialMalformed }
        let presented = String(header.dropFirst(7))
        guard self.identity.isAdminKey(presented) else { throw ServerError.adminKeyInvalid }
        let peer = context.remoteAddress?.ipAddress ?? "-"
        return "admin-key(\(presented.prefix(10))…)@\(peer)"
    }

    private func audit(_ actor: String, _ action: String, _ target: String, _ detail: String = "") -> AuditEntry {
        AuditEntry(at: self.configuration.clock(), actor: actor, action: action, target: target, detail: detail)
    }

    private func id(_ context: ServerRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), !id.isEmpty, id.utf8.count <= 128 else { throw ServerError.invalidField("missing id") }
        return id
    }

    // MARK: Tokens

    /// The expiries an admin may choose (DESIGN.md §3), in seconds; `never` is `nil`.
    static let tokenExpiries: [String: Int?] = ["30m": 1800, "1h": 3600, "6h": 21_600, "24h": 86_400, "48h": 172_800, "never": nil]

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

    struct CreateTokenBody: Decodable {
        var expiresIn: String
        var maxUses: Int?
        var label: String?
        enum CodingKeys: String, CodingKey { case expiresIn = "expires_in", maxUses = "max_uses", label }
    }

    struct TokenView: Encodable {
        var id: EnrollmentTokenID
        var token: String?
        var label: String?
        var createdAt: Date
        var expiresAt: Date?
        var maxUses: Int?
        var uses: Int
        var state: String
        enum CodingKeys: String, CodingKey {
            case id, token, label, uses, state
            case createdAt = "created_at", expiresAt = "expires_at", maxUses = "max_uses"
        }
        init(_ record: EnrollmentTokenRecord, token: String? = nil, now: Date) {
            self.id = record.id
            self.token = token
            self.label = record.label
            self.createdAt = record.createdAt
            self.expiresAt = record.expiresAt
            self.maxUses = record.maxUses
            self.uses = record.uses
            self.state = record.state(at: now)
        }
    }

    struct ListBody<Item: Encodable>: Encodable {
        var items: [Item]
    }

    func createToken(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let body = try await HTTPBody.decode(CreateTokenBody.self, from: request, limit: self.configuration.maxJSONBodyBytes)
        guard let expiry = Self.tokenExpiry(body.expiresIn) else {
            throw ServerError.invalidField("expires_in must be one of 30m, 1h, 6h, 24h, 48h, never, or a duration such as 90s or 15m between 10s and 48h")
        }
        if let maxUses = body.maxUses, !(1...1_000_000).contains(maxUses) { throw ServerError.invalidField("max_uses must be between 1 and 1000000") }
        if let label = body.label, label.utf8.count > 128 { throw ServerError.invalidField("label must be at most 128 bytes") }
        let now = self.configuration.clock()
        let token = SecretToken.generate(.enrollment)
        let record = EnrollmentTokenRecord(
            id: .random(), tokenHash: token.sha256Hex, label: body.label, createdAt: now,
            expiresAt: expiry.map { now.addingTimeInterval(Double($0)) }, maxUses: body.maxUses)
        try await self.store.createEnrollmentToken(record, audit: self.audit(actor, "token.create", record.id.rawValue, "expires_in=\(body.expiresIn) max_uses=\(body.maxUses.map(String.init) ?? "-") label=\(body.label ?? "-")"))
        return try HTTPBody.response(TokenView(record, token: token.value, now: now), status: .created)
    }

    func listTokens(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        let now = self.configuration.clock()
        return try HTTPBody.response(ListBody(items: try await self.store.enrollmentTokens().map { TokenView($0, now: now) }))
    }

    func revokeToken(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let id = EnrollmentTokenID(try self.id(context))
        guard try await self.store.revokeEnrollmentToken(id: id, at: self.configuration.clock(), audit: self.audit(actor, "token.revoke", id.rawValue)) else {
            throw ServerError.notFound("token")
        }
        let now = self.configuration.clock()
        guard let record = try await self.store.enrollmentTokens().first(where: { $0.id == id }) else { throw ServerError.notFound("token") }
        return try HTTPBody.response(TokenView(record, now: now))
    }

    // MARK: Printers

    struct CreatePrinterBody: Decodable {
        var name: String
        var address: String
        var `protocol`: PrinterProtocol
        var port: Int?
        var queue: String?
        var location: String?
        var site: String?
        var driverID: DriverID?
        enum CodingKeys: String, CodingKey { case name, address, `protocol`, port, queue, location, site, driverID = "driver_id" }
    }

    func createPrinter(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let body = try await HTTPBody.decode(CreatePrinterBody.self, from: request, limit: self.configuration.maxJSONBodyBytes)
        guard DriverManifest.isSafeField(body.name) else { throw ServerError.invalidField("name must be 1 to 128 characters of letters, digits, space, '.', '_', '-', '+'") }
        guard !body.address.isEmpty, body.address.utf8.count <= 253, !body.address.contains(where: { $0.isWhitespace || $0 == "/" }) else {
            throw ServerError.invalidField("address must be a host name or IP address")
        }
        let port = body.port ?? body.protocol.defaultPort
        guard (1...65535).contains(port) else { throw ServerError.invalidField("port must be between 1 and 65535") }
        for (field, value) in [("queue", body.queue), ("location", body.location), ("site", body.site)] {
            if let value, value.utf8.count > 256 { throw ServerError.invalidField("\(field) must be at most 256 bytes") }
        }
        let printer = PrinterRecord(
            id: .random(), name: body.name, address: body.address, protocol: body.protocol, port: port,
            queue: body.queue ?? (body.protocol == .lpr ? "lp" : nil), location: body.location, site: body.site, driverID: body.driverID)
        try await self.store.createPrinter(printer, audit: self.audit(actor, "printer.create", printer.id.rawValue, printer.name))
        return try HTTPBody.response(printer, status: .created)
    }

    func listPrinters(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        return try HTTPBody.response(ListBody(items: try await self.store.printers()))
    }

    func deletePrinter(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let id = PrinterID(try self.id(context))
        guard try await self.store.deletePrinter(id: id, audit: self.audit(actor, "printer.delete", id.rawValue)) else { throw ServerError.notFound("printer") }
        return Response(status: .noContent)
    }

    struct SetDriverBody: Decodable {
        var driverID: DriverID?
        enum CodingKeys: String, CodingKey { case driverID = "driver_id" }
    }

    /// Publishing a new driver version: agents see the new digest at their next check-in.
    func setPrinterDriver(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let id = PrinterID(try self.id(context))
        let body = try await HTTPBody.decode(SetDriverBody.self, from: request, limit: self.configuration.maxJSONBodyBytes)
        guard try await self.store.setPrinterDriver(id: id, driverID: body.driverID, audit: self.audit(actor, "printer.driver", id.rawValue, body.driverID?.rawValue ?? "none")) else {
            throw ServerError.notFound("printer")
        }
        guard let printer = try await self.store.printers().first(where: { $0.id == id }) else { throw ServerError.notFound("printer") }
        return try HTTPBody.response(printer)
    }

    // MARK: Profiles

    struct CreateProfileBody: Decodable {
        var name: String
        var duplex: PrintProfile.Duplex?
        var color: Bool?
        var paper: String?
        var tray: String?
        var copies: Int?
    }

    func createProfile(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let body = try await HTTPBody.decode(CreateProfileBody.self, from: request, limit: self.configuration.maxJSONBodyBytes)
        guard DriverManifest.isSafeField(body.name) else { throw ServerError.invalidField("name must be 1 to 128 characters of letters, digits, space, '.', '_', '-', '+'") }
        let profile = PrintProfile(duplex: body.duplex ?? .simplex, color: body.color ?? false, paper: body.paper ?? "A4", tray: body.tray, copies: body.copies ?? 1)
        let problems = profile.validationProblems
        guard problems.isEmpty else { throw ServerError.invalidField(problems.joined(separator: "; ")) }
        let record = ProfileRecord(id: .random(), name: body.name, profile: profile)
        try await self.store.createProfile(record, audit: self.audit(actor, "profile.create", record.id.rawValue, record.name))
        return try HTTPBody.response(record, status: .created)
    }

    func listProfiles(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        return try HTTPBody.response(ListBody(items: try await self.store.profiles()))
    }

    func deleteProfile(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let id = ProfileID(try self.id(context))
        guard try await self.store.deleteProfile(id: id, audit: self.audit(actor, "profile.delete", id.rawValue)) else { throw ServerError.notFound("profile") }
        return Response(status: .noContent)
    }

    // MARK: Assignments

    struct CreateAssignmentBody: Decodable {
        var printerID: PrinterID
        var profileID: ProfileID?
        var target: AssignmentTarget
        enum CodingKeys: String, CodingKey { case printerID = "printer_id", profileID = "profile_id", target }
    }

    func createAssignment(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let body = try await HTTPBody.decode(CreateAssignmentBody.self, from: request, limit: self.configuration.maxJSONBodyBytes)
        let assignment = Assignment(id: .random(), printerID: body.printerID, profileID: body.profileID, target: body.target)
        try await self.store.createAssignment(assignment, audit: self.audit(actor, "assignment.create", assignment.id.rawValue, "\(assignment.printerID) → \(assignment.target)"))
        return try HTTPBody.response(assignment, status: .created)
    }

    func listAssignments(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        return try HTTPBody.response(ListBody(items: try await self.store.assignments()))
    }

    func deleteAssignment(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let id = AssignmentID(try self.id(context))
        guard try await self.store.deleteAssignment(id: id, audit: self.audit(actor, "assignment.delete", id.rawValue)) else { throw ServerError.notFound("assignment") }
        return Response(status: .noContent)
    }

    // MARK: Drivers

    func uploadDriver(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let query = request.uri.queryParameters
        var fields = [String: String]()
        for field in ["name", "version", "os"] {
            guard let value = query[Substring(field)].map(String.init), DriverManifest.isSafeField(value) else {
                throw ServerError.invalidDriverName("\(field) must be 1 to 128 characters of letters, digits, space, '.', '_', '-', '+' (no '/' or '..')")
            }
            fields[field] = value
        }
        guard let contentType = request.headers[.contentType], contentType.lowercased().hasPrefix("application/octet-stream") else {
            throw ServerError.unsupportedMediaType(expected: "application/octet-stream")
        }
        if let length = request.headers[.contentLength].flatMap({ Int64($0) }), length > self.repository.maxBytes {
            throw ServerError.bodyTooLarge(limit: Int(clamping: self.repository.maxBytes))
        }
        let (sha256, size) = try await self.repository.store(request.body)
        let manifest = DriverManifest(name: fields["name"]!, version: fields["version"]!, os: fields["os"]!, sha256: sha256, size: size)
        let signed = try SignedDriverManifest(signing: manifest, with: self.identity.driverSigningKey)
        let record = DriverRecord(id: .random(), manifest: signed, createdAt: self.configuration.clock())
        try await self.store.createDriver(record, audit: self.audit(actor, "driver.upload", record.id.rawValue, "\(manifest.name) \(manifest.version) \(manifest.os) sha256=\(sha256) size=\(size)"))
        return try HTTPBody.response(record, status: .created)
    }

    func listDrivers(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        return try HTTPBody.response(ListBody(items: try await self.store.drivers()))
    }

    // MARK: Agents

    func listAgents(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        return try HTTPBody.response(ListBody(items: try await self.store.agents()))
    }

    func revokeAgent(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let id = AgentID(try self.id(context))
        guard try await self.store.revokeAgent(id: id, at: self.configuration.clock(), audit: self.audit(actor, "agent.revoke", id.rawValue)) else {
            throw ServerError.notFound("agent")
        }
        self.planner.forget(id)
        return Response(status: .noContent)
    }

    // MARK: Reports and audit

    private func filter(_ request: Request) throws -> JobFilter {
        let query = request.uri.queryParameters
        func date(_ name: String) throws -> Date? {
            guard let text = query[Substring(name)].map(String.init) else { return nil }
            guard let date = ISO8601DateFormatter().date(from: text) else { throw ServerError.invalidField("\(name) must be an ISO 8601 time such as 2026-01-31T00:00:00Z") }
            return date
        }
        return JobFilter(
            from: try date("from"), to: try date("to"), user: query["user"].map(String.init),
            printer: query["printer"].map(String.init), computer: query["computer"].map(String.init))
    }

    private func paging(_ request: Request) throws -> (limit: Int, offset: Int) {
        let query = request.uri.queryParameters
        let limit = try query["limit"].map { text -> Int in
            guard let value = Int(text), (1...10_000).contains(value) else { throw ServerError.invalidField("limit must be between 1 and 10000") }
            return value
        } ?? 100
        let offset = try query["offset"].map { text -> Int in
            guard let value = Int(text), value >= 0 else { throw ServerError.invalidField("offset must be 0 or more") }
            return value
        } ?? 0
        return (limit, offset)
    }

    struct JobPage: Encodable {
        var jobs: [JobRecord]
        var limit: Int
        var offset: Int
        var nextOffset: Int?
        enum CodingKeys: String, CodingKey { case jobs, limit, offset, nextOffset = "next_offset" }
    }

    func jobReport(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        let filter = try self.filter(request)
        let (limit, offset) = try self.paging(request)
        let jobs = try await self.store.jobs(matching: filter, limit: limit, offset: offset)
        let wantsCSV = request.uri.queryParameters["format"] == "csv" || (request.headers[.accept]?.contains("text/csv") ?? false)
        if wantsCSV {
            let csv = JobCSV.render(jobs)
            var headers = HTTPFields()
            headers[.contentType] = "text/csv; charset=utf-8"
            headers[.contentDisposition] = "attachment; filename=\"jobs.csv\""
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: csv)))
        }
        return try HTTPBody.response(JobPage(jobs: jobs, limit: limit, offset: offset, nextOffset: jobs.count == limit ? offset + limit : nil))
    }

    func jobTotals(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        return try HTTPBody.response(try await self.store.jobTotals(matching: try self.filter(request)))
    }

    /// Pull printing: held jobs by state (held, released, printed, failed, expired, cancelled);
    /// `from`/`to` apply to the hold time.
    func heldTotals(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        return try HTTPBody.response(try await self.store.heldJobTotals(matching: try self.filter(request)))
    }

    func audit(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        let (limit, offset) = try self.paging(request)
        return try HTTPBody.response(ListBody(items: try await self.store.auditEntries(limit: limit, offset: offset)))
    }
}

/// RFC 4180 CSV of job records.
enum JobCSV {
    static let columns = ["job_id", "user", "computer", "printer", "document_name", "pages", "copies", "color", "duplex", "bytes", "protocol", "submitted_at", "completed_at", "outcome"]

    static func render(_ jobs: [JobRecord]) -> String {
        let formatter = ISO8601DateFormatter()
        var out = columns.joined(separator: ",") + "\r\n"
        for job in jobs {
            let fields: [String] = [
                job.jobID.rawValue, job.user, job.computer, job.printer, job.documentName, String(job.pages), String(job.copies),
                String(job.color), String(job.duplex), String(job.bytes), job.protocol.rawValue,
                formatter.string(from: job.submittedAt), formatter.string(from: job.completedAt), job.outcome.rawValue,
            ]
            out += fields.map(escape).joined(separator: ",") + "\r\n"
        }
        return out
    }

    static func escape(_ field: String) -> String {
        var field = field
        // Neutralise spreadsheet formulas (CSV injection) from agent-supplied text.
        if let first = field.first, "=+-@".contains(first), Double(field) == nil { field = "'" + field }
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
