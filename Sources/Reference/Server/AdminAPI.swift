import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PrintplaneCore

/// The admin half of the API (`/api/v1/admin/...`) as JSON: tokens, printers, drivers,
/// profiles, assignments, agents, reports and the audit log. Every call needs the admin
/// key. The operations themselves (validation, the store call, its audit entry) are
/// ``AdminOperations``, shared with the HTML ``Console``; this type only decodes JSON,
/// names the actor and encodes the answer.
struct AdminAPI: Sendable {
    let operations: AdminOperations
    let identity: ServerIdentity
    let configuration: ServerConfiguration

    private var store: any Store { self.operations.store }

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
        try Self.authorize(request, context, identity: self.identity)
    }

    /// Checks the admin key against `identity` and names the actor for the audit log.
    static func authorize(_ request: Request, _ context: ServerRequestContext, identity: ServerIdentity) throws -> String {
        guard let header = request.headers[.authorization] else { throw ServerError.credentialMissing }
        guard header.hasPrefix("Bearer ") else { throw ServerError.credentialMalformed }
        let presented = String(header.dropFirst(7))
        guard identity.isAdminKey(presented) else { throw ServerError.adminKeyInvalid }
        let peer = context.remoteAddress?.ipAddress ?? "-"
        return "admin-key(\(presented.prefix(10))…)@\(peer)"
    }

    private func id<Kind>(_ context: ServerRequestContext) throws -> Identifier<Kind> {
        try AdminOperations.id(context.parameters.get("id"))
    }

    private func decode<Value: Decodable>(_ type: Value.Type, _ request: Request) async throws -> Value {
        try await HTTPBody.decode(type, from: request, limit: self.configuration.maxJSONBodyBytes)
    }

    private func query(_ request: Request) -> (String) -> String? {
        let parameters = request.uri.queryParameters
        return { name in parameters[Substring(name)].map(String.init) }
    }

    // MARK: Tokens

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
        let (record, secret) = try await self.operations.createToken(try await self.decode(AdminOperations.NewToken.self, request), actor: actor)
        return try HTTPBody.response(TokenView(record, token: secret.value, now: self.configuration.clock()), status: .created)
    }

    func listTokens(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        let now = self.configuration.clock()
        return try HTTPBody.response(ListBody(items: try await self.store.enrollmentTokens().map { TokenView($0, now: now) }))
    }

    func revokeToken(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let record = try await self.operations.revokeToken(try self.id(context), actor: actor)
        return try HTTPBody.response(TokenView(record, now: self.configuration.clock()))
    }

    // MARK: Printers

    func createPrinter(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let printer = try await self.operations.createPrinter(try await self.decode(AdminOperations.NewPrinter.self, request), actor: actor)
        return try HTTPBody.response(printer, status: .created)
    }

    func listPrinters(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        return try HTTPBody.response(ListBody(items: try await self.store.printers()))
    }

    func deletePrinter(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        try await self.operations.deletePrinter(try self.id(context), actor: actor)
        return Response(status: .noContent)
    }

    struct SetDriverBody: Decodable {
        var driverID: DriverID?
        enum CodingKeys: String, CodingKey { case driverID = "driver_id" }
    }

    func setPrinterDriver(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let id: PrinterID = try self.id(context)
        let body = try await self.decode(SetDriverBody.self, request)
        return try HTTPBody.response(try await self.operations.setPrinterDriver(id, driverID: body.driverID, actor: actor))
    }

    // MARK: Profiles

    func createProfile(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let record = try await self.operations.createProfile(try await self.decode(AdminOperations.NewProfile.self, request), actor: actor)
        return try HTTPBody.response(record, status: .created)
    }

    func listProfiles(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        return try HTTPBody.response(ListBody(items: try await self.store.profiles()))
    }

    func deleteProfile(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        try await self.operations.deleteProfile(try self.id(context), actor: actor)
        return Response(status: .noContent)
    }

    // MARK: Assignments

    func createAssignment(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let assignment = try await self.operations.createAssignment(try await self.decode(AdminOperations.NewAssignment.self, request), actor: actor)
        return try HTTPBody.response(assignment, status: .created)
    }

    func listAssignments(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        return try HTTPBody.response(ListBody(items: try await self.store.assignments()))
    }

    func deleteAssignment(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        try await self.operations.deleteAssignment(try self.id(context), actor: actor)
        return Response(status: .noContent)
    }

    // MARK: Drivers

    func uploadDriver(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let query = self.query(request)
        let input = AdminOperations.NewDriver(name: query("name"), version: query("version"), os: query("os"))
        _ = try input.checked()  // a bad name is reported before a wrong media type
        guard let contentType = request.headers[.contentType], contentType.lowercased().hasPrefix("application/octet-stream") else {
            throw ServerError.unsupportedMediaType(expected: "application/octet-stream")
        }
        let length = request.headers[.contentLength].flatMap { Int64($0) }
        let record = try await self.operations.uploadDriver(input, declaredLength: length, body: request.body, actor: actor)
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
        try await self.operations.revokeAgent(try self.id(context), actor: actor)
        return Response(status: .noContent)
    }

    // MARK: Reports and audit

    struct JobPage: Encodable {
        var jobs: [JobRecord]
        var limit: Int
        var offset: Int
        var nextOffset: Int?
        enum CodingKeys: String, CodingKey { case jobs, limit, offset, nextOffset = "next_offset" }
    }

    func jobReport(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        let filter = try AdminOperations.jobFilter(self.query(request))
        let (limit, offset) = try AdminOperations.paging(self.query(request))
        let jobs = try await self.store.jobs(matching: filter, limit: limit, offset: offset)
        let wantsCSV = request.uri.queryParameters["format"] == "csv" || (request.headers[.accept]?.contains("text/csv") ?? false)
        if wantsCSV { return JobCSV.response(jobs) }
        return try HTTPBody.response(JobPage(jobs: jobs, limit: limit, offset: offset, nextOffset: jobs.count == limit ? offset + limit : nil))
    }

    func jobTotals(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        return try HTTPBody.response(try await self.store.jobTotals(matching: try AdminOperations.jobFilter(self.query(request))))
    }

    /// Pull printing: held jobs by state (held, released, printed, failed, expired, cancelled);
    /// `from`/`to` apply to the hold time.
    func heldTotals(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        return try HTTPBody.response(try await self.store.heldJobTotals(matching: try AdminOperations.jobFilter(self.query(request))))
    }

    func audit(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        let (limit, offset) = try AdminOperations.paging(self.query(request))
        return try HTTPBody.response(ListBody(items: try await self.store.auditEntries(limit: limit, offset: offset)))
    }
}

/// RFC 4180 CSV of job records.
enum JobCSV {
    static let columns = ["job_id", "user", "computer", "printer", "document_name", "pages", "copies", "color", "duplex", "bytes", "protocol", "submitted_at", "completed_at", "outcome"]

    static func render(_ jobs: [JobRecord]) -> String {
        header + rows(jobs)
    }

    static var header: String { columns.joined(separator: ",") + "\r\n" }

    static func rows(_ jobs: [JobRecord]) -> String {
        let formatter = ISO8601DateFormatter()
        var out = ""
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

    /// The CSV as a download named `jobs.csv`.
    static func response(_ jobs: [JobRecord]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"jobs.csv\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: render(jobs))))
    }

    static func escape(_ field: String) -> String {
        var field = field
        // Neutralise spreadsheet formulas (CSV injection) from agent-supplied text.
        if let first = field.first, "=+-@".contains(first), Double(field) == nil { field = "'" + field }
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
