import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PrintplaneCore

/// The admin console: server-rendered HTML under `/console`, on the API's TLS listener.
///
/// Every action goes through ``AdminOperations``, the same validation, store call and audit
/// entry as the JSON admin API; the actor is `console:<user>@<peer>`.
///
/// Request rules, enforced here for every route:
/// - Pages need a live session (``ConsoleSessions``); without one a GET is redirected to
///   the login page and a POST is refused with 403.
/// - State changes only by POST. A POST must come from the console's own origin (`Origin`,
///   else `Referer`, against ``ServerConfiguration/consoleOrigin`` or `https://<Host>`) and
///   carry the session's CSRF token (the login form: its signed double-submit token);
///   otherwise 403 before anything is read or written.
/// - Every response carries ``securityHeaders``; pages are `Cache-Control: no-store`.
/// - Errors are pages with the status the JSON API would answer (400, 403, 409, 413, 415, 429).
struct Console: Sendable {
    static let prefix = "/console"

    let operations: AdminOperations
    let sessions: ConsoleSessions
    let authenticators: [any ConsoleAuthenticator]
    let throttle: LoginThrottle
    let configuration: ServerConfiguration
    let logger: Logger

    var store: any Store { self.operations.store }

    /// Headers on every console response. No inline script or style is ever emitted, so the
    /// policy can forbid both; `frame-ancestors 'none'` and `X-Frame-Options` stop framing
    /// (clickjacking); `form-action 'self'` keeps an injected form from posting elsewhere.
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (.contentSecurityPolicy, "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (.xContentTypeOptions, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "same-origin"),
    ]

    /// Bytes a driver upload form may carry besides the package itself (its text fields and part headers).
    static let multipartOverhead: Int64 = 64 * 1024
    /// Largest text field in a multipart form.
    static let maxMultipartField = 4 * 1024

    // MARK: Routes

    /// Registers the console's routes and returns them (all under ``prefix``, GET or POST only).
    func register(on router: Router<ServerRequestContext>) -> [(method: String, path: String)] {
        var routes = [(method: String, path: String)]()
        func on(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping @Sendable (Request, ServerRequestContext) async throws -> Response) {
            routes.append((method.rawValue, path))
            router.on(RouterPath(path), method: method) { request, context in await self.respond(request, context, handler) }
        }
        on(.get, "/console/console.css") { _, _ in Self.stylesheet() }
        on(.get, "/console/login") { r, c in try await self.loginPage(r, c) }
        on(.post, "/console/login") { r, c in try await self.signIn(r, c) }
        on(.post, "/console/logout") { r, c in try await self.signOut(r, c) }

        on(.get, "/console") { r, _ in try await self.page(r, .dashboard) }
        on(.get, "/console/tokens") { r, _ in try await self.page(r, .tokens) }
        on(.post, "/console/tokens") { r, c in
            try await self.action(r, c, .tokens) { form, actor, session in
                let input = AdminOperations.NewToken(expiresIn: form["expires_in"] ?? "", maxUses: try form.integer("max_uses"), label: form.text("label"))
                let (record, secret) = try await self.operations.createToken(input, actor: actor)
                // Shown once, in this answer only: never stored, never redirected to.
                return .page(try await self.tokensPage(session, notice: nil, created: (record, secret.value)))
            }
        }
        on(.post, "/console/tokens/{id}/revoke") { r, c in
            try await self.action(r, c, .tokens) { _, actor, _ in
                _ = try await self.operations.revokeToken(try AdminOperations.id(c.parameters.get("id")), actor: actor)
                return .redirect("/console/tokens?notice=token-revoked")
            }
        }
        on(.get, "/console/printers") { r, _ in try await self.page(r, .printers) }
        on(.post, "/console/printers") { r, c in
            try await self.action(r, c, .printers) { form, actor, _ in
                let input = AdminOperations.NewPrinter(
                    name: form["name"] ?? "", address: form["address"] ?? "", protocol: form["protocol"] ?? "", port: try form.integer("port"),
                    queue: form.text("queue"), location: form.text("location"), site: form.text("site"), driverID: form.text("driver_id").map { DriverID($0) })
                _ = try await self.operations.createPrinter(input, actor: actor)
                return .redirect("/console/printers?notice=printer-created")
            }
        }
        on(.post, "/console/printers/{id}/delete") { r, c in
            try await self.action(r, c, .printers) { _, actor, _ in
                try await self.operations.deletePrinter(try AdminOperations.id(c.parameters.get("id")), actor: actor)
                return .redirect("/console/printers?notice=printer-deleted")
            }
        }
        on(.post, "/console/printers/{id}/driver") { r, c in
            try await self.action(r, c, .printers) { form, actor, _ in
                _ = try await self.operations.setPrinterDriver(try AdminOperations.id(c.parameters.get("id")), driverID: form.text("driver_id").map { DriverID($0) }, actor: actor)
                return .redirect("/console/printers?notice=printer-driver-set")
            }
        }
        on(.get, "/console/drivers") { r, _ in try await self.page(r, .drivers) }
        on(.post, "/console/drivers") { r, c in try await self.uploadDriver(r, c) }
        on(.get, "/console/profiles") { r, _ in try await self.page(r, .profiles) }
        on(.post, "/console/profiles") { r, c in
            try await self.action(r, c, .profiles) { form, actor, _ in
                let input = AdminOperations.NewProfile(
                    name: form["name"] ?? "", duplex: form.text("duplex"), color: form["color"] != nil, paper: form.text("paper"),
                    tray: form.text("tray"), copies: try form.integer("copies"))
                _ = try await self.operations.createProfile(input, actor: actor)
                return .redirect("/console/profiles?notice=profile-created")
            }
        }
        on(.post, "/console/profiles/{id}/delete") { r, c in
            try await self.action(r, c, .profiles) { _, actor, _ in
                try await self.operations.deleteProfile(try AdminOperations.id(c.parameters.get("id")), actor: actor)
                return .redirect("/console/profiles?notice=profile-deleted")
            }
        }
        on(.get, "/console/assignments") { r, _ in try await self.page(r, .assignments) }
        on(.post, "/console/assignments") { r, c in
            try await self.action(r, c, .assignments) { form, actor, _ in
                let input = AdminOperations.NewAssignment(
                    printerID: try AdminOperations.id(form.text("printer_id")), profileID: form.text("profile_id").map { ProfileID($0) },
                    target: .init(kind: form["target_kind"] ?? "", value: form.text("target_value")))
                _ = try await self.operations.createAssignment(input, actor: actor)
                return .redirect("/console/assignments?notice=assignment-created")
            }
        }
        on(.post, "/console/assignments/{id}/delete") { r, c in
            try await self.action(r, c, .assignments) { _, actor, _ in
                try await self.operations.deleteAssignment(try AdminOperations.id(c.parameters.get("id")), actor: actor)
                return .redirect("/console/assignments?notice=assignment-deleted")
            }
        }
        on(.get, "/console/agents") { r, _ in try await self.page(r, .agents) }
        on(.post, "/console/agents/{id}/revoke") { r, c in
            try await self.action(r, c, .agents) { _, actor, _ in
                try await self.operations.revokeAgent(try AdminOperations.id(c.parameters.get("id")), actor: actor)
                return .redirect("/console/agents?notice=agent-revoked")
            }
        }
        on(.get, "/console/reports") { r, _ in try await self.page(r, .reports) }
        on(.get, "/console/reports/jobs.csv") { r, _ in try await self.reportCSV(r) }
        on(.get, "/console/audit") { r, _ in try await self.page(r, .audit) }
        return routes
    }

    // MARK: The request rules

    /// Runs a handler, turning errors into pages and adding the security headers.
    private func respond(
        _ request: Request, _ context: ServerRequestContext, _ handler: @Sendable (Request, ServerRequestContext) async throws -> Response
    ) async -> Response {
        var response: Response
        do {
            response = try await handler(request, context)
        } catch let error as ServerError {
            response = Self.errorPage(error)
        } catch {
            context.logger.error("console request failed", metadata: ["printplane.error": "\(String(reflecting: error))"])
            response = Self.errorPage(.internalError)
        }
        for (name, value) in Self.securityHeaders { response.headers[name] = value }
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    /// The origin browsers reach the console at.
    private func ownOrigin(_ request: Request) -> String? {
        if let configured = self.configuration.consoleOrigin { return configured }
        return request.head.authority.map { "https://\($0)" }
    }

    /// Whether a state-changing request comes from the console's own pages: its `Origin`
    /// (sent by browsers on every POST), or failing that its `Referer`, names our origin.
    func isSameOrigin(_ request: Request) -> Bool {
        guard let own = self.ownOrigin(request)?.lowercased() else { return false }
        if let origin = request.headers[.origin] { return origin.lowercased() == own }
        guard let referer = request.headers[.referer], let url = URL(string: referer), let scheme = url.scheme, var host = url.host else { return false }
        if host.contains(":"), !host.hasPrefix("[") { host = "[\(host)]" }
        return "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")".lowercased() == own
    }

    /// The session of a POST, after the origin check; 403 when either fails.
    private func postSession(_ request: Request) async throws -> ConsoleSessions.Session {
        guard self.isSameOrigin(request) else {
            throw ServerError.forbidden("This request did not come from the console's own pages (Origin/Referer check); nothing was changed.")
        }
        guard let session = try await self.sessions.current(request) else {
            throw ServerError.forbidden("Your console session has ended; sign in again. Nothing was changed.")
        }
        return session
    }

    private static let csrfRefusal = ServerError.forbidden("The form's security token is missing or wrong (CSRF check); reload the page and try again. Nothing was changed.")

    private func actor(_ session: ConsoleSessions.Session, _ context: ServerRequestContext) -> String {
        "console:\(session.user)@\(context.remoteAddress?.ipAddress ?? "-")"
    }

    /// A form body, `application/x-www-form-urlencoded`, within the JSON API's body limit.
    private func form(_ request: Request) async throws -> FormFields {
        let buffer = try await HTTPBody.collect(request, limit: self.configuration.maxJSONBodyBytes, contentType: "application/x-www-form-urlencoded")
        return FormFields(urlEncoded: String(buffer: buffer))
    }

    /// What a successful action answers.
    enum Outcome {
        /// 303 See Other to a page (post/redirect/get), with a notice code in its query.
        case redirect(String)
        /// A page in the answer itself (a new token, shown once).
        case page(HTML)
    }

    /// An authenticated GET page; without a session, a redirect to the login page.
    private func page(_ request: Request, _ section: Section) async throws -> Response {
        guard let session = try await self.sessions.current(request) else { return Self.redirect("/console/login") }
        let query = FormFields(urlEncoded: request.uri.query ?? "")
        let notice = query["notice"].flatMap { Self.notices[$0] }.map(Notice.done)
        do {
            return Self.html(try await self.render(section, session, notice: notice, query: query))
        } catch let error as ServerError where error.status.code < 500 {
            return Self.html(try await self.render(section, session, notice: .error(error.message), query: FormFields()), status: error.status)
        }
    }

    /// A state-changing form: origin, session and CSRF checks, then `perform`. A refusal by
    /// the operation re-renders the section with its message and the API's status.
    private func action(
        _ request: Request, _ context: ServerRequestContext, _ section: Section,
        _ perform: (FormFields, String, ConsoleSessions.Session) async throws -> Outcome
    ) async throws -> Response {
        let session = try await self.postSession(request)
        var submitted = FormFields()
        do {
            let form = try await self.form(request)
            guard ConsoleSessions.checkCSRF(form["csrf_token"], session: session) else { throw Self.csrfRefusal }
            submitted = form
            switch try await perform(form, self.actor(session, context), session) {
            case .redirect(let location): return Self.redirect(location)
            case .page(let html): return Self.html(html)
            }
        } catch let error as ServerError where error.status.code < 500 && error.status != .forbidden {
            // The form comes back filled in as sent, so one wrong field costs one correction.
            return Self.html(try await self.render(section, session, notice: .error(error.message), query: FormFields(), values: submitted), status: error.status)
        }
    }

    /// `POST /console/drivers`: a multipart form whose text fields (CSRF token first) come
    /// before the file. The token is checked before a byte of the file is read; the file is
    /// then streamed through ``AdminOperations/uploadDriver(_:declaredLength:body:actor:)``,
    /// hashed and written as it arrives, with the API's size limit.
    private func uploadDriver(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let session = try await self.postSession(request)
        var fields = [(String, String)]()
        do {
            guard let boundary = MultipartFormReader<RequestBody>.boundary(contentType: request.headers[.contentType]) else {
                throw ServerError.unsupportedMediaType(expected: "multipart/form-data")
            }
            let limit = self.operations.repository.maxBytes
            if let length = request.headers[.contentLength].flatMap({ Int64($0) }), length > limit + Self.multipartOverhead {
                throw ServerError.bodyTooLarge(limit: Int(clamping: limit))
            }
            let reader = MultipartFormReader(request.body, boundary: boundary)
            while let part = try await reader.nextPart() {
                guard fields.count < 16 else { throw ServerError.badRequest("The form has too many fields.") }
                guard let filename = part.filename else {
                    fields.append((part.name, try await reader.text(limit: Self.maxMultipartField)))
                    continue
                }
                let form = FormFields(fields)
                guard ConsoleSessions.checkCSRF(form["csrf_token"], session: session) else { throw Self.csrfRefusal }
                guard part.name == "package", !filename.isEmpty else { throw ServerError.invalidField("Choose a driver package file to upload.") }
                let input = AdminOperations.NewDriver(name: form["name"], version: form["version"], os: form["os"])
                _ = try await self.operations.uploadDriver(input, declaredLength: nil, body: reader.content, actor: self.actor(session, context))
                return Self.redirect("/console/drivers?notice=driver-uploaded")
            }
            guard ConsoleSessions.checkCSRF(FormFields(fields)["csrf_token"], session: session) else { throw Self.csrfRefusal }
            throw ServerError.invalidField("Choose a driver package file to upload.")
        } catch let error as ServerError where error.status.code < 500 && error.status != .forbidden {
            let values = ConsoleSessions.checkCSRF(FormFields(fields)["csrf_token"], session: session) ? FormFields(fields) : FormFields()
            return Self.html(try await self.render(.drivers, session, notice: .error(error.message), query: FormFields(), values: values), status: error.status)
        }
    }

    /// The report as CSV: every job matching the filters, streamed a page at a time.
    private func reportCSV(_ request: Request) async throws -> Response {
        guard try await self.sessions.current(request) != nil else { return Self.redirect("/console/login") }
        let query = FormFields(urlEncoded: request.uri.query ?? "")
        let filter = try AdminOperations.jobFilter { query[$0] }
        let store = self.store
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"jobs.csv\""
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await writer.write(ByteBuffer(string: JobCSV.header))
            let pageSize = 5000
            var offset = 0
            while true {
                let jobs = try await store.jobs(matching: filter, limit: pageSize, offset: offset)
                if !jobs.isEmpty { try await writer.write(ByteBuffer(string: JobCSV.rows(jobs))) }
                if jobs.count < pageSize { break }
                offset += pageSize
            }
            try await writer.finish(nil)
        })
    }

    // MARK: Sign-in and sign-out

    private func loginPage(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        if try await self.sessions.current(request) != nil { return Self.redirect("/console") }
        return self.loginForm(notice: nil, status: .ok)
    }

    /// The login page with a fresh signed double-submit token (and its cookie).
    private func loginForm(notice: Notice?, status: HTTPResponse.Status, retryAfter: Int? = nil) -> Response {
        let (cookie, token) = self.sessions.newLoginForm()
        var response = Self.html(
            ConsolePage.login(token: token, usesUsername: self.authenticators.contains { $0.usesUsername }, notice: notice), status: status)
        response.headers.append(HTTPField(name: .setCookie, value: cookie))
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    /// `POST /console/login`: origin and login-form token, then the throttle, then the
    /// authenticators in turn. Success starts a new session (deleting any presented one) and
    /// clears the throttle; failure is counted, audited, and answered 401 without saying why.
    private func signIn(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        guard self.isSameOrigin(request) else {
            return self.loginForm(notice: .error("The sign-in did not come from this site's login page (Origin/Referer check); nothing was done."), status: .forbidden)
        }
        let form = try await self.form(request)
        guard self.sessions.checkLoginForm(form["csrf_token"], request: request) else {
            return self.loginForm(notice: .error("The sign-in form expired or did not come from this site; it has been reloaded. Try again."), status: .forbidden)
        }
        let peer = context.remoteAddress?.ipAddress ?? "-"
        if let wait = self.throttle.retryAfter(peer) {
            let refusal = ServerError.signInThrottled(retryAfter: wait)
            self.logger.warning("console sign-in throttled", metadata: ["printplane.request.peer": "\(peer)", "printplane.retry_after": "\(wait)"])
            return self.loginForm(notice: .error(refusal.message), status: refusal.status, retryAfter: wait)
        }
        let username = (form["username"] ?? "").trimmingCharacters(in: .whitespaces)
        let secret = (form["secret"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        var user: ConsoleUser?
        do {
            for authenticator in self.authenticators {
                user = try await authenticator.authenticate(username: username, secret: secret)
                if user != nil { break }
            }
        } catch {
            self.logger.error("console sign-in could not be checked", metadata: ["printplane.error": "\(String(reflecting: error))"])
            let refusal = ServerError.signInUnavailable("the sign-in service did not answer; try again later.")
            return self.loginForm(notice: .error(refusal.message), status: refusal.status, retryAfter: refusal.retryAfterSeconds)
        }
        let now = self.configuration.clock()
        guard let user else {
            let lockout = self.throttle.recordFailure(peer)
            let target = username.isEmpty ? "admin-key" : String(username.prefix(128))
            try await self.store.appendAudit(AuditEntry(
                at: now, actor: "console:-@\(peer)", action: "console.login.failed", target: target, detail: lockout.map { "locked_out=\($0)s" } ?? ""))
            return self.loginForm(notice: .error(ServerError.signInFailed.message), status: ServerError.signInFailed.status)
        }
        self.throttle.recordSuccess(peer)
        let session = try await self.sessions.start(
            user: user, replacing: ConsoleSessions.presentedID(request),
            audit: AuditEntry(at: now, actor: "console:\(user.name)@\(peer)", action: "console.login", target: user.name, detail: "method=\(user.method)"))
        var response = Self.redirect("/console")
        response.headers.append(HTTPField(name: .setCookie, value: ConsoleSessions.sessionCookie(session)))
        response.headers.append(HTTPField(name: .setCookie, value: ConsoleSessions.clearedLoginCookie))
        return response
    }

    /// `POST /console/logout`: ends the session server-side and clears the cookie.
    private func signOut(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let session = try await self.postSession(request)
        let form = try await self.form(request)
        guard ConsoleSessions.checkCSRF(form["csrf_token"], session: session) else { throw Self.csrfRefusal }
        try await self.sessions.end(session, audit: AuditEntry(
            at: self.configuration.clock(), actor: self.actor(session, context), action: "console.logout", target: session.user))
        var response = Self.redirect("/console/login")
        response.headers.append(HTTPField(name: .setCookie, value: ConsoleSessions.clearedSessionCookie))
        return response
    }

    // MARK: Responses

    static func html(_ html: HTML, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html.description)))
    }

    static func redirect(_ location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    /// A page for a refusal that has no section to show it in.
    static func errorPage(_ error: ServerError) -> Response {
        var response = Self.html(ConsolePage.error(status: Int(error.status.code), message: error.message), status: error.status)
        if let retryAfter = error.retryAfterSeconds { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    static func stylesheet() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/css; charset=utf-8"
        headers[.cacheControl] = "max-age=3600"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: ConsolePage.stylesheet)))
    }

    /// Notices a redirect may name (`?notice=`); anything else is ignored, so no text from a
    /// URL reaches a page.
    static let notices: [String: String] = [
        "token-revoked": "Token revoked.",
        "printer-created": "Printer created.",
        "printer-deleted": "Printer deleted.",
        "printer-driver-set": "Driver set; agents pick it up at their next check-in.",
        "driver-uploaded": "Driver uploaded and signed.",
        "profile-created": "Profile created.",
        "profile-deleted": "Profile deleted.",
        "assignment-created": "Assignment created.",
        "assignment-deleted": "Assignment deleted.",
        "agent-revoked": "Agent revoked; its next call is refused.",
    ]
}

/// A message at the top of a page.
enum Notice: Sendable {
    case done(String)
    case error(String)
}
