import Foundation
import GRDB
import PrintplaneCore
import Testing

@testable import PrintplaneServer

/// Every page of the console, for "renders" and "needs a session" checks.
let consolePages = ["/console", "/console/tokens", "/console/printers", "/console/drivers", "/console/profiles", "/console/assignments", "/console/agents", "/console/reports", "/console/audit"]

/// Checks the headers every console response carries.
func expectSecurityHeaders(_ response: TestResponse, _ note: String) {
    let csp = response.headers.first(name: "Content-Security-Policy") ?? ""
    #expect(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "\(note): \(csp)")
    #expect(response.headers.first(name: "X-Frame-Options") == "DENY", "\(note)")
    #expect(response.headers.first(name: "X-Content-Type-Options") == "nosniff", "\(note)")
    #expect(response.headers.first(name: "Referrer-Policy") == "same-origin", "\(note)")
}

/// A stand-in for the directory sign-in the lead wires in later: it takes a user name and a
/// password, and can be told to fail the way an unreachable directory does.
struct StubDirectoryAuthenticator: ConsoleAuthenticator {
    struct Unreachable: Error {}
    let unreachable: Bool
    var usesUsername: Bool { true }
    func authenticate(username: String, secret: String) async throws -> ConsoleUser? {
        guard !username.isEmpty else { return nil }
        if self.unreachable { throw Unreachable() }
        return username == "alice" && secret == "correct horse" ? ConsoleUser(name: "alice@corp.example.com", method: "directory") : nil
    }
}

@Suite("Admin console over TLS: sign-in, sessions, CSRF, pages")
struct ConsoleTests {
    @Test("another authenticator plugs in beside the admin key: user-name field, its user as the actor, an outage is 503 and no failure")
    func authenticatorSeam() async throws {
        try await withTestServer(consoleAuthenticators: [StubDirectoryAuthenticator(unreachable: false)]) { server in
            var console = ConsoleClient(server)
            let login = try await console.get("/console/login")
            #expect(login.text.contains("id=\"username\"") && login.text.contains("Password or admin key"))
            #expect(try await console.signIn("wrong", username: "alice").status == 401)
            #expect(try await console.signIn(server.adminKey, username: "alice").status == 401, "the admin key is not alice's password")
            let signedIn = try await console.signIn("correct horse", username: "alice")
            #expect(signedIn.status == 303 && console.sessionID != nil)
            let page = try await console.get("/console/printers")
            #expect(page.text.contains("Signed in as alice@corp.example.com"))
            #expect(try await console.submit("/console/printers", [("name", "alice-printer"), ("address", "10.0.0.7"), ("protocol", "raw")]).status == 303)
            let audit = try await server.server.store.auditEntries(limit: 10, offset: 0)
            #expect(audit.first { $0.action == "printer.create" }?.actor == "console:alice@corp.example.com@127.0.0.1")
            #expect(audit.first { $0.action == "console.login" }?.detail == "method=directory")
            #expect(audit.first { $0.action == "console.login.failed" }?.target == "alice")
            // The admin key still works with the user name left empty.
            var admin = ConsoleClient(server)
            try await admin.signedIn()
        }
        try await withTestServer(consoleAuthenticators: [StubDirectoryAuthenticator(unreachable: true)]) { server in
            var console = ConsoleClient(server)
            for _ in 0..<5 {
                let response = try await console.signIn("anything", username: "bob")
                #expect(response.status == 503 && response.text.contains("Sign-in is unavailable"), "\(response.status)")
            }
            try await console.signedIn()  // five outages counted no failure: the admin key is not locked out
            #expect(!(try await server.server.store.auditEntries(limit: 50, offset: 0)).contains { $0.action == "console.login.failed" })
        }
    }

    @Test("a wrong key is refused, audited and throttled per address; the right key is refused while locked out")
    func signInThrottled() async throws {
        let clock = ManualClock()
        try await withTestServer(configure: { $0.clock = { clock.now } }) { server in
            var console = ConsoleClient(server)
            let wrong = SecretToken.generate(.admin).value
            for attempt in 1...4 {
                let response = try await console.signIn(wrong)
                #expect(response.status == 401, "attempt \(attempt): \(response.status)")
                #expect(response.text.contains("Sign-in failed"))
                #expect(console.sessionID == nil)
                expectSecurityHeaders(response, "failed sign-in")
            }
            // The fourth failure locked the address for 1 s: even the right key is refused, unread.
            let locked = try await console.signIn()
            #expect(locked.status == 429 && locked.headers.first(name: "Retry-After") == "1", "\(locked.status) \(locked.headers)")
            #expect(console.sessionID == nil)
            clock.advance(1.5)
            #expect(try await console.signIn(wrong).status == 401)
            let lockedLonger = try await console.signIn()
            #expect(lockedLonger.status == 429 && lockedLonger.headers.first(name: "Retry-After") == "2", "the lockout doubles")
            clock.advance(2.5)
            try await console.signedIn()

            let audit = try await server.server.store.auditEntries(limit: 100, offset: 0)
            let failures = audit.filter { $0.action == "console.login.failed" }
            #expect(failures.count == 5 && failures.allSatisfy { $0.actor == "console:-@127.0.0.1" && $0.target == "admin-key" })
            #expect(failures.first?.detail == "locked_out=2s")
            #expect(audit.first?.action == "console.login" && audit.first?.actor.hasPrefix("console:admin-key(ppa_") == true)
            #expect(!audit.contains { $0.detail.contains(wrong) || $0.target.contains(wrong) || $0.detail.contains(server.adminKey) })
        }
    }

    @Test("the right key sets a Secure, HttpOnly, SameSite=Strict, Path=/console cookie; the database holds only its SHA-256; sign-in rotates the ID")
    func sessionCookie() async throws {
        try await withTestServer { server in
            var console = ConsoleClient(server)
            let login = try await console.get("/console/login")
            #expect(login.status == 200)
            let loginCookie = login.headers["Set-Cookie"].first { $0.hasPrefix(ConsoleSessions.loginCookieName + "=") } ?? ""
            for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/console"] { #expect(loginCookie.contains(flag), "login cookie: \(loginCookie)") }

            let response = try await console.signIn()
            #expect(response.status == 303 && response.headers.first(name: "Location") == "/console")
            let cookie = response.headers["Set-Cookie"].first { $0.hasPrefix(ConsoleSessions.cookieName + "=") } ?? ""
            let attributes = Set(cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
            #expect(attributes == ["Path=/console", "Secure", "HttpOnly", "SameSite=Strict"], "\(cookie)")
            let id = try #require(console.sessionID)
            #expect(id.utf8.count == 43 && Base64URL.decode(id)?.count == 32, "a 256-bit ID")
            #expect(try await console.get("/console").status == 200)

            // What the database holds: the SHA-256, never the ID (read the file itself).
            let database = try DatabaseQueue(path: server.dataDirectory + "/printplane.sqlite")
            let rows = try await database.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM console_sessions").map { row in
                    (hash: row["id_hash"] as String, values: row.columnNames.map { (row[$0] as DatabaseValue).description })
                }
            }
            try database.close()
            #expect(rows.count == 1)
            #expect(rows.first?.hash == SecretToken.sha256Hex(of: id))
            #expect(rows.allSatisfy { $0.values.allSatisfy { !$0.contains(id) } })
            for file in ["printplane.sqlite", "printplane.sqlite-wal"] {
                let bytes = FileManager.default.contents(atPath: server.dataDirectory + "/" + file) ?? Data()
                #expect(bytes.range(of: Data(id.utf8)) == nil, "\(file) holds the raw session ID")
            }

            // Signing in while presenting a live session replaces it: the old ID is dead.
            var again = ConsoleClient(server)
            let form = try await again.get("/console/login")
            again.cookies[ConsoleSessions.cookieName] = id
            let resigned = try await again.post("/console/login", [("csrf_token", ConsoleClient.csrfToken(in: form.text) ?? ""), ("secret", server.adminKey)])
            #expect(resigned.status == 303)
            let rotated = try #require(again.sessionID)
            #expect(rotated != id)
            #expect(try await server.server.store.consoleSession(idHash: SecretToken.sha256Hex(of: id)) == nil)
            let old = try await console.get("/console")
            #expect(old.status == 303 && old.headers.first(name: "Location") == "/console/login")

            // A session ID planted before sign-in (fixation) is never adopted.
            var victim = ConsoleClient(server)
            let planted = ConsoleSessions.randomSecret()
            victim.cookies[ConsoleSessions.cookieName] = planted
            try await victim.signedIn()
            #expect(victim.sessionID != planted)
            #expect(try await server.server.store.consoleSession(idHash: SecretToken.sha256Hex(of: planted)) == nil)
        }
    }

    @Test("a POST without the CSRF token, with a wrong one, another session's, or from a foreign origin is refused with 403 and changes nothing")
    func csrf() async throws {
        try await withTestServer { server in
            var console = ConsoleClient(server)
            try await console.signedIn()
            var other = ConsoleClient(server)
            try await other.signedIn()
            let token = try await console.csrfToken("/console/printers")
            let otherToken = try await other.csrfToken()
            #expect(token != otherToken, "each session has its own token")
            let printer = [("name", "lobby"), ("address", "10.0.0.9"), ("protocol", "raw")]
            let attempts: [(String, TestResponse)] = [
                ("no token", try await console.post("/console/printers", printer)),
                ("wrong token", try await console.post("/console/printers", [("csrf_token", String(token.reversed()))] + printer)),
                ("empty token", try await console.post("/console/printers", [("csrf_token", "")] + printer)),
                ("another session's token", try await console.post("/console/printers", [("csrf_token", otherToken)] + printer)),
                ("foreign Origin", try await console.post("/console/printers", [("csrf_token", token)] + printer, origin: "https://evil.example")),
                ("Origin null", try await console.post("/console/printers", [("csrf_token", token)] + printer, origin: "null")),
                ("no Origin, foreign Referer", try await console.post("/console/printers", [("csrf_token", token)] + printer, origin: .some(nil), headers: [("Referer", "https://evil.example/console/printers")])),
                ("neither Origin nor Referer", try await console.post("/console/printers", [("csrf_token", token)] + printer, origin: .some(nil))),
            ]
            for (note, response) in attempts {
                #expect(response.status == 403, "\(note): \(response.status)")
                #expect(response.headers.first(name: "Content-Type")?.hasPrefix("text/html") == true, "\(note)")
                expectSecurityHeaders(response, note)
            }
            #expect(try await server.server.store.printers().isEmpty)
            #expect(!(try await server.server.store.auditEntries(limit: 100, offset: 0)).contains { $0.action == "printer.create" })

            // Login CSRF: the login form needs its own token and origin too.
            var stranger = ConsoleClient(server)
            #expect(try await stranger.post("/console/login", [("secret", server.adminKey)]).status == 403)
            _ = try await stranger.get("/console/login")
            let loginToken = ConsoleClient.csrfToken(in: try await stranger.get("/console/login").text) ?? ""
            #expect(try await stranger.post("/console/login", [("csrf_token", loginToken), ("secret", server.adminKey)], origin: "https://evil.example").status == 403)
            #expect(stranger.sessionID == nil)

            // The same form with the token and our origin (or, without Origin, our Referer) works.
            let created = try await console.post("/console/printers", [("csrf_token", token)] + printer)
            #expect(created.status == 303 && created.headers.first(name: "Location") == "/console/printers?notice=printer-created")
            let viaReferer = try await console.post(
                "/console/printers", [("csrf_token", token), ("name", "annex"), ("address", "10.0.0.10"), ("protocol", "lpr")],
                origin: .some(nil), headers: [("Referer", server.baseURL + "/console/printers")])
            #expect(viaReferer.status == 303)
            let printers = try await server.server.store.printers()
            #expect(printers.map(\.name) == ["annex", "lobby"])

            // State never changes on GET: there is no GET route for an action.
            let id = printers[0].id.rawValue
            #expect(try await console.get("/console/printers/\(id)/delete").status >= 400)
            #expect(try await server.server.store.printers().count == 2)
            let audit = try await server.server.store.auditEntries(limit: 100, offset: 0)
            #expect(audit.filter { $0.action == "printer.create" }.allSatisfy { $0.actor.hasPrefix("console:admin-key(ppa_") && $0.actor.hasSuffix("@127.0.0.1") })
        }
    }

    @Test("an idle session and one past its absolute lifetime are refused and deleted")
    func expiry() async throws {
        let clock = ManualClock()
        try await withTestServer(configure: { $0.clock = { clock.now } }) { server in
            var console = ConsoleClient(server)
            try await console.signedIn()
            let hash = SecretToken.sha256Hex(of: console.sessionID ?? "")
            let token = try await console.csrfToken()
            clock.advance(1000)
            #expect(try await console.get("/console").status == 200, "active requests keep it alive")
            clock.advance(1000)
            #expect(try await console.get("/console").status == 200, "2000 s after sign-in, 1000 s after the last request")
            clock.advance(1801)
            let idle = try await console.get("/console")
            #expect(idle.status == 303 && idle.headers.first(name: "Location") == "/console/login")
            #expect(try await console.post("/console/printers", [("csrf_token", token), ("name", "p"), ("address", "10.0.0.1"), ("protocol", "raw")]).status == 403)
            #expect(try await server.server.store.consoleSession(idHash: hash) == nil, "deleted server-side")
            #expect(try await server.server.store.printers().isEmpty)

            try await console.signedIn()
            for _ in 0..<28 {
                clock.advance(1500)
                #expect(try await console.get("/console/tokens").status == 200)
            }
            clock.advance(1500)  // 29 × 1500 s = 12.08 h after sign-in, though never idle
            let old = try await console.get("/console/tokens")
            #expect(old.status == 303 && old.headers.first(name: "Location") == "/console/login")
        }
    }

    @Test("sign-out ends the session server-side; its cookie and token are then worthless")
    func signOut() async throws {
        try await withTestServer { server in
            var console = ConsoleClient(server)
            try await console.signedIn()
            let id = try #require(console.sessionID)
            let token = try await console.csrfToken()
            #expect(try await console.post("/console/logout", []).status == 403, "sign-out needs the token too")
            let response = try await console.post("/console/logout", [("csrf_token", token)])
            #expect(response.status == 303 && response.headers.first(name: "Location") == "/console/login")
            #expect(response.headers["Set-Cookie"].contains { $0.hasPrefix(ConsoleSessions.cookieName + "=;") && $0.contains("Max-Age=0") })
            #expect(try await server.server.store.consoleSession(idHash: SecretToken.sha256Hex(of: id)) == nil)
            var replay = ConsoleClient(server)
            replay.cookies[ConsoleSessions.cookieName] = id
            #expect(try await replay.get("/console/printers").status == 303)
            #expect(try await replay.post("/console/printers", [("csrf_token", token), ("name", "p"), ("address", "10.0.0.1"), ("protocol", "raw")]).status == 403)
            #expect(try await server.server.store.printers().isEmpty)
            #expect(try await server.server.store.auditEntries(limit: 1, offset: 0).first?.action == "console.logout")
        }
    }

    @Test("without a session every page redirects to the login page; the JSON API is unchanged and ignores the cookie")
    func unauthenticated() async throws {
        try await withTestServer { server in
            var console = ConsoleClient(server)
            for path in consolePages + ["/console/reports/jobs.csv"] {
                let response = try await console.get(path)
                #expect(response.status == 303 && response.headers.first(name: "Location") == "/console/login", "\(path)")
                expectSecurityHeaders(response, path)
            }
            let login = try await console.get("/console/login")
            #expect(login.status == 200 && login.text.contains("id=\"login-form\""))
            #expect(login.headers.first(name: "Cache-Control") == "no-store")
            expectSecurityHeaders(login, "login page")
            try await console.signedIn()
            let api = try await server.request(.GET, "/api/v1/admin/tokens", headers: [("Cookie", "\(ConsoleSessions.cookieName)=\(console.sessionID ?? "")")])
            #expect(api.status == 401 && api.reason == "credential_missing")
            #expect(try await console.get("/console/login").status == 303, "signed in: the login page sends you on")
            let css = try await console.get("/console/console.css")
            #expect(css.status == 200 && css.headers.first(name: "Content-Type") == "text/css; charset=utf-8")
            expectSecurityHeaders(css, "stylesheet")
        }
    }

    @Test("stored <script> in host names, document names, user names and labels renders escaped")
    func storedXSS() async throws {
        try await withTestServer { server in
            let host = #"<script>alert("host")</script>"#
            let document = #"<img src=x onerror=alert(1)>.pdf"#
            let user = #"<b onmouseover="alert('u')">mallory</b>"#
            let label = #"'><script>alert('label')</script>"#
            let agent = try await server.enrolledAgent(hostname: host)
            var job = makeJob("xss-1", user: user, computer: host)
            job.documentName = document
            #expect(try await server.postJobs(agent.deviceCredential, [job]).status == 200)
            #expect(try await server.admin(.POST, "/api/v1/admin/tokens", json: ["expires_in": "1h", "label": label]).status == 201)
            let printer = try await CheckInTests.printer(server, "xss-printer")
            try await CheckInTests.assign(server, printer, "user", user)

            var console = ConsoleClient(server)
            try await console.signedIn()
            for path in consolePages {
                let page = try await console.get(path)
                #expect(page.status == 200, "\(path)")
                for payload in [host, document, user, label] {
                    #expect(!page.text.contains(payload), "\(path) shows \(payload) unescaped")
                }
                #expect(!page.text.contains("<script"), "\(path) has a script element")
            }
            #expect(try await console.get("/console/agents").text.contains(HTML.escape(host)))
            #expect(try await console.get("/console/reports").text.contains(HTML.escape(document)))
            #expect(try await console.get("/console/tokens").text.contains(HTML.escape(label)))
            #expect(try await console.get("/console/assignments").text.contains(HTML.escape(user)))
        }
    }

    @Test("every page renders for an empty and a populated server, with paging, totals and a CSV export")
    func pages() async throws {
        try await withTestServer { server in
            var console = ConsoleClient(server)
            try await console.signedIn()
            for path in consolePages {
                let page = try await console.get(path)
                #expect(page.status == 200, "empty \(path): \(page.status) \(page.text.prefix(300))")
                #expect(page.headers.first(name: "Content-Type") == "text/html; charset=utf-8")
                #expect(page.headers.first(name: "Cache-Control") == "no-store")
                #expect(page.text.hasPrefix("<!doctype html>") && page.text.contains("<h1>") && page.text.contains("aria-current=\"page\""), "\(path)")
                expectSecurityHeaders(page, path)
            }

            // Populate through the JSON API.
            let upload = try await server.request(.POST, "/api/v1/admin/drivers?name=Universal&version=1.0&os=windows", body: Data(repeating: 1, count: 3000), contentType: "application/octet-stream", bearer: server.adminKey)
            let driver = try upload.decode(DriverRecord.self)
            let printer = try await CheckInTests.printer(server, "hq-1", driverID: driver.id.rawValue)
            let profile = try await server.admin(.POST, "/api/v1/admin/profiles", json: ["name": "duplex-mono", "duplex": "long_edge"]).decode(ProfileRecord.self)
            try await CheckInTests.assign(server, printer, "everyone", nil, profile: profile.id.rawValue)
            _ = try await server.createToken(maxUses: 3)
            let agent = try await server.enrolledAgent(hostname: "ws-42")
            let base = Date(timeIntervalSince1970: 1_800_000_000)
            var jobs = [JobRecord]()
            for index in 0..<120 {
                let at = base.addingTimeInterval(Double(index) * 60)
                jobs.append(makeJob("p-\(index)", user: index % 2 == 0 ? "alice" : "bob", pages: 2, color: index % 4 == 0, at: at))
            }
            #expect(try await server.postJobs(agent.deviceCredential, jobs).status == 200)

            for path in consolePages {
                let page = try await console.get(path)
                #expect(page.status == 200, "populated \(path): \(page.status) \(page.text.prefix(300))")
            }
            let dashboard = try await console.get("/console").text
            #expect(dashboard.contains("doc-p-119.pdf") && !dashboard.contains("doc-p-100.pdf"), "the ten most recent jobs")
            #expect(dashboard.contains("ws-42"))
            #expect(try await console.get("/console/drivers").text.contains(driver.manifest.manifest.sha256))
            #expect(try await console.get("/console/printers").text.contains("Universal 1.0 (windows)"))

            let alice = try await console.get("/console/reports?user=alice&limit=25")
            #expect(alice.text.contains("<dd id=\"total-jobs\">60</dd>") && alice.text.contains("<dd id=\"total-pages\">120</dd>"), "totals")
            #expect(alice.text.contains("Jobs 1–25 of 60") && alice.text.contains("id=\"next-page\"") && !alice.text.contains("id=\"previous-page\""))
            let last = try await console.get("/console/reports?user=alice&limit=25&offset=50")
            #expect(last.text.contains("Jobs 51–60 of 60") && !last.text.contains("id=\"next-page\"") && last.text.contains("id=\"previous-page\""))
            let window = try await console.get("/console/reports?from=2027-01-15T08%3A00&to=2027-01-15T08%3A10")
            #expect(window.text.contains("<dd id=\"total-jobs\">10</dd>"), "a datetime-local window is read as UTC")
            let badDate = try await console.get("/console/reports?from=yesterday")
            #expect(badDate.status == 400 && badDate.text.contains("from must be an ISO 8601 time"))

            let csv = try await console.get("/console/reports/jobs.csv?user=bob")
            #expect(csv.status == 200 && csv.headers.first(name: "Content-Type") == "text/csv; charset=utf-8")
            let lines = csv.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines.count == 61 && lines[0].hasPrefix("job_id,user") && lines.dropFirst().allSatisfy { $0.contains(",bob,") })

            let audit = try await console.get("/console/audit?limit=3")
            #expect(audit.text.contains("id=\"next-page\"") && !audit.text.contains("id=\"previous-page\""))
            #expect(try await console.get("/console/audit").text.contains("console.login"))
        }
    }

    @Test("a token created in the console is shown once, audited with the console user, and enrolls an agent")
    func tokenShownOnce() async throws {
        try await withTestServer { server in
            var console = ConsoleClient(server)
            try await console.signedIn()
            let response = try await console.submit("/console/tokens", [("expires_in", "1h"), ("max_uses", "2"), ("label", "Site A")])
            #expect(response.status == 200)
            #expect(response.headers.first(name: "Cache-Control") == "no-store")
            let text = response.text
            let start = try #require(text.range(of: "<code id=\"new-token\">"))
            let token = String(text[start.upperBound...].prefix { $0 != "<" })
            #expect(SecretToken(parsing: token)?.kind == .enrollment, "\(token)")
            let listing = try await console.get("/console/tokens")
            #expect(listing.text.contains("Site A") && !listing.text.contains(token), "shown once")
            let records = try await server.server.store.enrollmentTokens()
            #expect(records.count == 1 && records[0].maxUses == 2 && records[0].label == "Site A" && records[0].tokenHash == SecretToken.sha256Hex(of: token))
            #expect(records[0].expiresAt.map { $0.timeIntervalSince(records[0].createdAt) } == 3600)
            #expect(try await server.enroll(token: token).status == 201)
            let audit = try await server.server.store.auditEntries(limit: 10, offset: 0)
            let create = try #require(audit.first { $0.action == "token.create" })
            #expect(create.actor.hasPrefix("console:admin-key(ppa_") && create.actor.hasSuffix("@127.0.0.1") && !create.detail.contains(token))

            let revoke = try await console.submit("/console/tokens/\(records[0].id.rawValue)/revoke", [])
            #expect(revoke.status == 303)
            #expect(try await server.enroll(token: token).reason == "token_revoked")
        }
    }

    @Test("bad input gives a clear error on the page with a 4xx status, and stores nothing")
    func badInput() async throws {
        try await withTestServer(configure: { $0.maxDriverBytes = 64 * 1024 }) { server in
            var console = ConsoleClient(server)
            try await console.signedIn()
            let token = try await console.csrfToken()
            func expectError(_ response: TestResponse, _ status: Int, _ message: String, _ note: String) {
                #expect(response.status == status, "\(note): \(response.status) \(response.text.prefix(300))")
                #expect(response.text.contains("role=\"alert\"") && response.text.contains(HTML.escape(message)), "\(note): \(response.text.prefix(2000))")
                expectSecurityHeaders(response, note)
            }
            func multipart(_ fields: [(String, String)], file: Data?, filename: String = "driver.bin") -> (Data, String) {
                let boundary = "----printplane\(UUID().uuidString)"
                var body = Data()
                for (name, value) in fields { body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8) }
                if let file {
                    body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"package\"; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
                    body += file + Data("\r\n".utf8)
                }
                body += Data("--\(boundary)--\r\n".utf8)
                return (body, "multipart/form-data; boundary=\(boundary)")
            }
            let fields = [("csrf_token", token), ("name", "Universal"), ("version", "1.0"), ("os", "windows")]

            // Oversized: refused by Content-Length, and (just under the overhead allowance) while streaming.
            let (huge, hugeType) = multipart(fields, file: Data(repeating: 7, count: 200 * 1024))
            expectError(try await console.postRaw("/console/drivers", body: huge, contentType: hugeType), 413, "larger than the 65536-byte limit", "oversized by length")
            let (over, overType) = multipart(fields, file: Data(repeating: 7, count: 64 * 1024 + 1))
            expectError(try await console.postRaw("/console/drivers", body: over, contentType: overType), 413, "larger than the 65536-byte limit", "oversized while streaming")
            // Missing fields and files, wrong content types.
            let (noName, noNameType) = multipart([("csrf_token", token), ("name", ""), ("version", "1.0"), ("os", "windows")], file: Data("x".utf8))
            expectError(try await console.postRaw("/console/drivers", body: noName, contentType: noNameType), 400, "name must be 1 to 128 characters", "missing name")
            let (noFile, noFileType) = multipart(fields, file: nil)
            expectError(try await console.postRaw("/console/drivers", body: noFile, contentType: noFileType), 400, "Choose a driver package file", "no file")
            let (emptyFile, emptyFileType) = multipart(fields, file: Data(), filename: "")
            expectError(try await console.postRaw("/console/drivers", body: emptyFile, contentType: emptyFileType), 400, "Choose a driver package file", "no file chosen")
            expectError(try await console.post("/console/drivers", fields), 415, "multipart/form-data", "urlencoded upload")
            let (noToken, noTokenType) = multipart(Array(fields.dropFirst()), file: Data("x".utf8))
            #expect(try await console.postRaw("/console/drivers", body: noToken, contentType: noTokenType).status == 403, "upload without the CSRF token")
            var truncated = Data()
            for (name, value) in fields { truncated += Data("--b\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8) }
            truncated += Data("--b\r\nContent-Disposition: form-data; name=\"package\"; filename=\"x\"\r\n\r\nabc".utf8)
            expectError(try await console.postRaw("/console/drivers", body: truncated, contentType: "multipart/form-data; boundary=b"), 400, "not well-formed multipart/form-data", "truncated multipart")

            expectError(try await console.post("/console/printers", [("csrf_token", token), ("name", "p1"), ("address", ""), ("protocol", "raw")]), 400, "address must be a host name or IP address", "missing address")
            expectError(try await console.post("/console/printers", [("csrf_token", token), ("name", "p1"), ("address", "10.0.0.1"), ("protocol", "raw"), ("port", "ninety")]), 400, "port must be a whole number", "port not a number")
            expectError(try await console.post("/console/printers", [("csrf_token", token), ("name", "p1"), ("address", "10.0.0.1"), ("protocol", "ipp")]), 400, "protocol must be raw or lpr", "unknown protocol")
            // A refused form comes back filled in as sent (escaped), so one mistake costs one correction.
            let refilled = try await console.post("/console/printers", [("csrf_token", token), ("name", #""><script>alert(1)</script>"#), ("address", "10.0.0.1"), ("protocol", "lpr"), ("port", "515")])
            #expect(refilled.status == 400 && refilled.text.contains(#"name="name" required maxlength="128" value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;""#), "\(refilled.text)")
            #expect(refilled.text.contains(#"value="10.0.0.1""#) && refilled.text.contains(#"<option value="lpr" selected>"#) && !refilled.text.contains("<script>"))
            expectError(try await console.post("/console/printers", [("csrf_token", token), ("name", "p1")], contentType: "text/plain"), 415, "application/x-www-form-urlencoded", "text/plain form")
            expectError(try await console.post("/console/profiles", [("csrf_token", token), ("name", "p"), ("copies", "0")]), 400, "copies must be between 1 and 999", "zero copies")
            expectError(try await console.post("/console/tokens", [("csrf_token", token), ("expires_in", "forever")]), 400, "expires_in must be one of", "bad expiry")

            // Assignments: a bad target value gets AssignmentTarget.make's own message.
            #expect(try await console.post("/console/printers", [("csrf_token", token), ("name", "p1"), ("address", "10.0.0.1"), ("protocol", "raw")]).status == 303)
            let printer = try #require(try await server.server.store.printers().first).id.rawValue
            guard case .failure(let cidr) = AssignmentTarget.make(kind: .ipRange, value: "10.0.0.0/99") else { Issue.record("make accepted a bad CIDR"); return }
            expectError(try await console.post("/console/assignments", [("csrf_token", token), ("printer_id", printer), ("target_kind", "ip_range"), ("target_value", "10.0.0.0/99")]), 400, cidr.message, "bad CIDR")
            // The JSON API refuses it with the same message: one shared operation.
            let api = try await server.admin(.POST, "/api/v1/admin/assignments", json: ["printer_id": printer, "target": ["kind": "ip_range", "value": "10.0.0.0/99"]])
            #expect(api.status == 400 && api.reason == "invalid_field" && (try? api.decode(APIErrorBody.self))?.message == cidr.message, "\(api.text)")
            expectError(try await console.post("/console/assignments", [("csrf_token", token), ("printer_id", printer), ("target_kind", "building")]), 400, "target kind must be one of", "unknown kind")
            expectError(try await console.post("/console/assignments", [("csrf_token", token), ("printer_id", "no-such-printer"), ("target_kind", "everyone")]), 400, "does not name a printer", "unknown printer")
            // group and ou: whatever Core says (refused today; accepted once directory targeting lands).
            for kind in [AssignmentTarget.Kind.group, .organizationalUnit] {
                let response = try await console.post("/console/assignments", [("csrf_token", token), ("printer_id", printer), ("target_kind", kind.rawValue), ("target_value", "Finance")])
                switch AssignmentTarget.make(kind: kind, value: "Finance") {
                case .failure(let error): expectError(response, 400, error.message, "\(kind) target")
                case .success: #expect(response.status == 303, "\(kind) target")
                }
            }
            let expectedAssignments = [AssignmentTarget.Kind.group, .organizationalUnit].filter { if case .success = AssignmentTarget.make(kind: $0, value: "Finance") { return true } else { return false } }.count
            #expect(try await server.server.store.assignments().count == expectedAssignments)

            #expect(try await server.server.store.drivers().isEmpty)
            #expect(try await server.server.store.profiles().isEmpty)
            #expect(try await server.server.store.enrollmentTokens().isEmpty)
            #expect(try await server.server.store.printers().count == 1)
            let blobs = try FileManager.default.contentsOfDirectory(atPath: server.dataDirectory + "/drivers")
            #expect(blobs.isEmpty, "\(blobs)")

            // And a good upload through the same form works.
            let (good, goodType) = multipart(fields, file: Data(repeating: 9, count: 5000))
            let uploaded = try await console.postRaw("/console/drivers", body: good, contentType: goodType)
            #expect(uploaded.status == 303 && uploaded.headers.first(name: "Location") == "/console/drivers?notice=driver-uploaded")
            let driver = try #require(try await server.server.store.drivers().first)
            #expect(driver.manifest.manifest.size == 5000)
            #expect(throws: Never.self) { try driver.manifest.verify(contents: Data(repeating: 9, count: 5000), publicKey: server.server.identity.driverSigningKey.publicKey) }
        }
    }
}
