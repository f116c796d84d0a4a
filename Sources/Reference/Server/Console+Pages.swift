import Foundation
import PrintplaneCore

/// The console's pages: each reads what it shows from the ``Store`` and renders it with
/// ``HTML`` (escaped) inside ``ConsolePage/layout(title:section:user:csrfToken:notice:body:)``.
extension Console {
    /// The pages in the navigation.
    enum Section: String, CaseIterable, Sendable {
        case dashboard, tokens, printers, drivers, profiles, assignments, agents, reports, audit

        var title: String {
            switch self {
            case .dashboard: return "Dashboard"
            case .tokens: return "Enrollment tokens"
            case .printers: return "Printers"
            case .drivers: return "Drivers"
            case .profiles: return "Profiles"
            case .assignments: return "Assignments"
            case .agents: return "Agents"
            case .reports: return "Reports"
            case .audit: return "Audit log"
            }
        }

        var path: String { self == .dashboard ? "/console" : "/console/\(self.rawValue)" }
    }

    /// Renders a page. `query` is a GET page's query (report filters, paging); `values` are
    /// the fields of a refused form, to fill it in again (never taken from a URL).
    func render(_ section: Section, _ session: ConsoleSessions.Session, notice: Notice?, query: FormFields, values: FormFields = FormFields()) async throws -> HTML {
        switch section {
        case .dashboard: return try await self.dashboardPage(session, notice: notice)
        case .tokens: return try await self.tokensPage(session, notice: notice, created: nil, values: values)
        case .printers: return try await self.printersPage(session, notice: notice, values: values)
        case .drivers: return try await self.driversPage(session, notice: notice, values: values)
        case .profiles: return try await self.profilesPage(session, notice: notice, values: values)
        case .assignments: return try await self.assignmentsPage(session, notice: notice, values: values)
        case .agents: return try await self.agentsPage(session, notice: notice)
        case .reports: return try await self.reportsPage(session, notice: notice, query: query)
        case .audit: return try await self.auditPage(session, notice: notice, query: query)
        }
    }

    private func layout(_ section: Section, _ session: ConsoleSessions.Session, notice: Notice?, _ body: HTML) -> HTML {
        ConsolePage.layout(title: section.title, section: section, user: session.user, csrfToken: session.csrfToken, notice: notice, body: body)
    }

    // MARK: Dashboard

    func dashboardPage(_ session: ConsoleSessions.Session, notice: Notice?) async throws -> HTML {
        let now = self.configuration.clock()
        async let printers = self.store.printers()
        async let drivers = self.store.drivers()
        async let profiles = self.store.profiles()
        async let assignments = self.store.assignments()
        async let agents = self.store.agents()
        async let tokens = self.store.enrollmentTokens()
        async let totals = self.store.jobTotals(matching: JobFilter())
        let jobCount = try await totals.jobs
        let recent = try await self.store.jobs(matching: JobFilter(), limit: 10, offset: max(0, jobCount - 10)).reversed()
        let allAgents = try await agents
        let counts: [(String, Int, String)] = [
            ("Printers", try await printers.count, "/console/printers"),
            ("Drivers", try await drivers.count, "/console/drivers"),
            ("Profiles", try await profiles.count, "/console/profiles"),
            ("Assignments", try await assignments.count, "/console/assignments"),
            ("Active agents", allAgents.filter { $0.revokedAt == nil }.count, "/console/agents"),
            ("Active tokens", try await tokens.filter { $0.refusal(at: now) == nil }.count, "/console/tokens"),
            ("Jobs", jobCount, "/console/reports"),
            ("Pages printed", try await totals.pages, "/console/reports"),
        ]
        let countItems = counts.map { item -> HTML in "<div><dt><a href=\"\(item.2)\">\(item.0)</a></dt><dd>\(item.1)</dd></div>" }
        let jobRows = recent.map(Self.jobRow)
        let agentRows = allAgents.sorted { $0.enrolledAt > $1.enrolledAt }.prefix(10).map { agent -> HTML in
            "<tr><td>\(agent.hostname)</td><td>\(agent.os)</td><td>\(agent.agentVersion)</td><td>\(ConsolePage.time(agent.enrolledAt))</td><td>\(agent.revokedAt == nil ? "active" : "revoked")</td></tr>"
        }
        let body: HTML = """
            <dl class="counts" id="counts">\(countItems)</dl>
            <h2>Recent jobs</h2>
            \(ConsolePage.table(caption: "The ten most recent jobs", columns: Self.jobColumns, rows: jobRows, empty: "No jobs have been reported yet.", id: "recent-jobs"))
            <h2>Agents</h2>
            \(ConsolePage.table(caption: "The ten most recently enrolled agents", columns: ["Host name", "OS", "Agent version", "Enrolled", "State"], rows: Array(agentRows), empty: "No agent has enrolled yet.", id: "recent-agents"))
            """
        return self.layout(.dashboard, session, notice: notice, body)
    }

    static let jobColumns = ["Submitted", "User", "Computer", "Printer", "Document", "Pages", "Copies", "Colour", "Duplex", "Outcome"]

    static func jobRow(_ job: JobRecord) -> HTML {
        """
        <tr><td>\(ConsolePage.time(job.submittedAt))</td><td>\(job.user)</td><td>\(job.computer)</td><td>\(job.printer)</td>\
        <td>\(job.documentName)</td><td class="num">\(job.pages)</td><td class="num">\(job.copies)</td>\
        <td>\(job.color ? "colour" : "mono")</td><td>\(job.duplex ? "duplex" : "simplex")</td><td>\(job.outcome.rawValue)</td></tr>
        """
    }

    // MARK: Tokens

    func tokensPage(_ session: ConsoleSessions.Session, notice: Notice?, created: (record: EnrollmentTokenRecord, secret: String)?, values: FormFields = FormFields()) async throws -> HTML {
        let now = self.configuration.clock()
        let tokens = try await self.store.enrollmentTokens().sorted { $0.createdAt > $1.createdAt }
        var shown = HTML.empty
        if let created {
            shown = """
                <section class="secret" aria-labelledby="new-token-heading">
                <h2 id="new-token-heading">New enrollment token</h2>
                <p>Copy it now: it is shown only this once. The server keeps only its SHA-256.</p>
                <p><code id="new-token">\(created.secret)</code></p>
                <p class="hint">Token ID <span class="mono" id="new-token-id">\(created.record.id.rawValue)</span>; \
                expires \(ConsolePage.time(created.record.expiresAt, fallback: "never")). \
                Enroll with <code>printplane agent enroll --token …</code>.</p>
                </section>
                """
        }
        let expiryOptions = ConsolePage.options(AdminOperations.tokenExpiryChoices.map { ($0, $0) }, selected: values["expires_in"] ?? "24h")
        let rows = tokens.map { token -> HTML in
            let state = token.state(at: now)
            let revoke = token.revokedAt == nil
                ? ConsolePage.button("Revoke", action: "/console/tokens/\(token.id.rawValue)/revoke", csrfToken: session.csrfToken, id: "revoke-\(token.id.rawValue)")
                : HTML.empty
            return """
                <tr data-id="\(token.id.rawValue)"><td>\(token.label, or: "—")</td><td class="mono">\(token.id.rawValue)</td>\
                <td>\(ConsolePage.time(token.createdAt))</td><td>\(ConsolePage.time(token.expiresAt, fallback: "never"))</td>\
                <td class="num">\(token.uses)\(token.maxUses.map { " / \($0)" } ?? "")</td><td class="state">\(state)</td><td>\(revoke)</td></tr>
                """
        }
        let body: HTML = """
            \(shown)
            <h2>Create a token</h2>
            <form method="post" action="/console/tokens" id="create-token" class="card">
            \(ConsolePage.csrfField(session.csrfToken))
            <label for="token-expires">Expires after</label>
            <select id="token-expires" name="expires_in">\(expiryOptions)</select>
            <label for="token-max-uses">Maximum uses (optional)</label>
            <input id="token-max-uses" name="max_uses" type="number" min="1" max="1000000" inputmode="numeric" value="\(values["max_uses"] ?? "")">
            <label for="token-label">Label or site (optional)</label>
            <input id="token-label" name="label" maxlength="128" value="\(values["label"] ?? "")">
            <p><button type="submit" id="create-token-submit">Create token</button></p>
            </form>
            <h2>Tokens</h2>
            \(ConsolePage.table(caption: "Enrollment tokens, newest first", columns: ["Label", "ID", "Created", "Expires", "Uses", "State", ""], rows: rows, empty: "No enrollment tokens yet.", id: "tokens"))
            """
        return self.layout(.tokens, session, notice: notice, body)
    }

    // MARK: Printers

    func printersPage(_ session: ConsoleSessions.Session, notice: Notice?, values: FormFields = FormFields()) async throws -> HTML {
        async let printers = self.store.printers()
        let drivers = try await self.store.drivers()
        let driverChoices = [("", "No driver")] + drivers.map { ($0.id.rawValue, "\($0.manifest.manifest.name) \($0.manifest.manifest.version) (\($0.manifest.manifest.os))") }
        let names = Dictionary(uniqueKeysWithValues: driverChoices.map { ($0.0, $0.1) })
        let rows = try await printers.map { printer -> HTML in
            let id = printer.id.rawValue
            let driverForm: HTML = """
                <form method="post" action="/console/printers/\(id)/driver" class="inline">\(ConsolePage.csrfField(session.csrfToken))\
                <label class="visually-hidden" for="driver-\(id)">Driver for \(printer.name)</label>\
                <select id="driver-\(id)" name="driver_id">\(ConsolePage.options(driverChoices.map { ($0.0, $0.1) }, selected: printer.driverID?.rawValue ?? ""))</select> \
                <button type="submit" id="set-driver-\(id)">Set</button></form>
                """
            return """
                <tr data-id="\(id)"><td>\(printer.name)</td><td>\(printer.address)</td><td>\(printer.protocol.rawValue)</td><td class="num">\(printer.port)</td>\
                <td>\(printer.queue, or: "—")</td><td>\(printer.location, or: "—")</td><td>\(printer.site, or: "—")</td>\
                <td><span class="current-driver">\(names[printer.driverID?.rawValue ?? ""] ?? printer.driverID?.rawValue ?? "No driver")</span><br>\(driverForm)</td>\
                <td>\(ConsolePage.button("Delete", action: "/console/printers/\(id)/delete", csrfToken: session.csrfToken, id: "delete-\(id)"))</td></tr>
                """
        }
        let body: HTML = """
            <h2>Add a printer</h2>
            <form method="post" action="/console/printers" id="create-printer" class="card">
            \(ConsolePage.csrfField(session.csrfToken))
            <label for="printer-name">Name</label>
            <input id="printer-name" name="name" required maxlength="128" value="\(values["name"] ?? "")">
            <label for="printer-address">Address (host name or IP)</label>
            <input id="printer-address" name="address" required maxlength="253" value="\(values["address"] ?? "")">
            <label for="printer-protocol">Protocol</label>
            <select id="printer-protocol" name="protocol">\(ConsolePage.options([("raw", "RAW (AppSocket, 9100)"), ("lpr", "LPR (RFC 1179, 515)")], selected: values["protocol"] ?? "raw"))</select>
            <label for="printer-port">Port (optional; default for the protocol)</label>
            <input id="printer-port" name="port" type="number" min="1" max="65535" inputmode="numeric" value="\(values["port"] ?? "")">
            <label for="printer-queue">LPD queue (optional)</label>
            <input id="printer-queue" name="queue" maxlength="256" value="\(values["queue"] ?? "")">
            <label for="printer-location">Location (optional)</label>
            <input id="printer-location" name="location" maxlength="256" value="\(values["location"] ?? "")">
            <label for="printer-site">Site (optional)</label>
            <input id="printer-site" name="site" maxlength="256" value="\(values["site"] ?? "")">
            <label for="printer-driver">Driver</label>
            <select id="printer-driver" name="driver_id">\(ConsolePage.options(driverChoices.map { ($0.0, $0.1) }, selected: values["driver_id"] ?? ""))</select>
            <p><button type="submit" id="create-printer-submit">Add printer</button></p>
            </form>
            <h2>Printers</h2>
            \(ConsolePage.table(caption: "Printers by name", columns: ["Name", "Address", "Protocol", "Port", "Queue", "Location", "Site", "Driver", ""], rows: rows, empty: "No printers yet.", id: "printers"))
            """
        return self.layout(.printers, session, notice: notice, body)
    }

    // MARK: Drivers

    func driversPage(_ session: ConsoleSessions.Session, notice: Notice?, values: FormFields = FormFields()) async throws -> HTML {
        let drivers = try await self.store.drivers()
        let rows = drivers.map { driver -> HTML in
            let manifest = driver.manifest.manifest
            return """
                <tr data-id="\(driver.id.rawValue)"><td>\(manifest.name)</td><td>\(manifest.version)</td><td>\(manifest.os)</td>\
                <td class="num" title="\(manifest.size) bytes">\(ConsolePage.bytes(manifest.size))</td><td class="mono sha256">\(manifest.sha256)</td>\
                <td>\(ConsolePage.time(driver.createdAt))</td></tr>
                """
        }
        let body: HTML = """
            <h2>Upload a driver package</h2>
            <form method="post" action="/console/drivers" enctype="multipart/form-data" id="upload-driver" class="card">
            \(ConsolePage.csrfField(session.csrfToken))
            <label for="driver-name">Name</label>
            <input id="driver-name" name="name" required maxlength="128" pattern="[A-Za-z0-9 ._+\\-]+" value="\(values["name"] ?? "")">
            <label for="driver-version">Version</label>
            <input id="driver-version" name="version" required maxlength="128" pattern="[A-Za-z0-9 ._+\\-]+" value="\(values["version"] ?? "")">
            <label for="driver-os">OS</label>
            <input id="driver-os" name="os" required maxlength="128" pattern="[A-Za-z0-9 ._+\\-]+" placeholder="windows" value="\(values["os"] ?? "")">
            <label for="driver-package">Package file</label>
            <input id="driver-package" name="package" type="file" required aria-describedby="driver-limit">
            <p class="hint" id="driver-limit">At most \(ConsolePage.bytes(self.operations.repository.maxBytes)). The server hashes it (SHA-256) and signs its manifest (Ed25519); agents verify both before installing.</p>
            <p><button type="submit" id="upload-driver-submit">Upload</button></p>
            </form>
            <h2>Drivers</h2>
            \(ConsolePage.table(caption: "Driver packages by name and version", columns: ["Name", "Version", "OS", "Size", "SHA-256", "Uploaded"], rows: rows, empty: "No drivers yet.", id: "drivers"))
            """
        return self.layout(.drivers, session, notice: notice, body)
    }

    // MARK: Profiles

    func profilesPage(_ session: ConsoleSessions.Session, notice: Notice?, values: FormFields = FormFields()) async throws -> HTML {
        let profiles = try await self.store.profiles()
        let rows = profiles.map { record -> HTML in
            let p = record.profile
            return """
                <tr data-id="\(record.id.rawValue)"><td>\(record.name)</td><td>\(p.duplex.rawValue)</td><td>\(p.color ? "colour" : "mono")</td>\
                <td>\(p.paper)</td><td>\(p.tray, or: "auto")</td><td class="num">\(p.copies)</td>\
                <td>\(ConsolePage.button("Delete", action: "/console/profiles/\(record.id.rawValue)/delete", csrfToken: session.csrfToken, id: "delete-\(record.id.rawValue)"))</td></tr>
                """
        }
        let duplex = ConsolePage.options(PrintProfile.Duplex.allCases.map { ($0.rawValue, $0.rawValue.replacingOccurrences(of: "_", with: " ")) }, selected: values["duplex"] ?? "simplex")
        let body: HTML = """
            <h2>Create a profile</h2>
            <form method="post" action="/console/profiles" id="create-profile" class="card">
            \(ConsolePage.csrfField(session.csrfToken))
            <label for="profile-name">Name</label>
            <input id="profile-name" name="name" required maxlength="128" value="\(values["name"] ?? "")">
            <label for="profile-duplex">Duplex</label>
            <select id="profile-duplex" name="duplex">\(duplex)</select>
            <label for="profile-color"><input id="profile-color" name="color" type="checkbox" value="on"\(values["color"] == nil ? "" : HTML(" checked"))> Colour</label>
            <label for="profile-paper">Paper</label>
            <input id="profile-paper" name="paper" value="\(values["paper"] ?? "A4")" maxlength="32">
            <label for="profile-tray">Tray (optional)</label>
            <input id="profile-tray" name="tray" maxlength="32" value="\(values["tray"] ?? "")">
            <label for="profile-copies">Copies</label>
            <input id="profile-copies" name="copies" type="number" min="1" max="999" value="\(values["copies"] ?? "1")" inputmode="numeric">
            <p><button type="submit" id="create-profile-submit">Create profile</button></p>
            </form>
            <h2>Profiles</h2>
            \(ConsolePage.table(caption: "Print profiles by name", columns: ["Name", "Duplex", "Colour", "Paper", "Tray", "Copies", ""], rows: rows, empty: "No profiles yet.", id: "profiles"))
            """
        return self.layout(.profiles, session, notice: notice, body)
    }

    // MARK: Assignments

    func assignmentsPage(_ session: ConsoleSessions.Session, notice: Notice?, values: FormFields = FormFields()) async throws -> HTML {
        async let assignments = self.store.assignments()
        async let profiles = self.store.profiles()
        let printers = try await self.store.printers()
        let profileList = try await profiles
        let printerNames = Dictionary(uniqueKeysWithValues: printers.map { ($0.id, $0.name) })
        let profileNames = Dictionary(uniqueKeysWithValues: profileList.map { ($0.id, $0.name) })
        let rows = try await assignments.map { assignment -> HTML in
            """
            <tr data-id="\(assignment.id.rawValue)"><td>\(printerNames[assignment.printerID] ?? assignment.printerID.rawValue)</td>\
            <td>\(assignment.profileID.map { profileNames[$0] ?? $0.rawValue } ?? "default")</td>\
            <td>\(assignment.target.kind.rawValue)</td><td>\(assignment.target.value, or: "—")</td>\
            <td>\(ConsolePage.button("Delete", action: "/console/assignments/\(assignment.id.rawValue)/delete", csrfToken: session.csrfToken, id: "delete-\(assignment.id.rawValue)"))</td></tr>
            """
        }
        let printerOptions = ConsolePage.options(printers.map { ($0.id.rawValue, $0.name) }, selected: values["printer_id"])
        let profileOptions = ConsolePage.options([("", "Default profile")] + profileList.map { ($0.id.rawValue, $0.name) }, selected: values["profile_id"] ?? "")
        let kinds = ConsolePage.options(AssignmentTarget.Kind.allCases.map { ($0.rawValue, Self.kindLabel($0)) }, selected: values["target_kind"] ?? "everyone")
        let form: HTML = printers.isEmpty
            ? "<p class=\"empty\">Add a printer first.</p>"
            : """
                <form method="post" action="/console/assignments" id="create-assignment" class="card">
                \(ConsolePage.csrfField(session.csrfToken))
                <label for="assignment-printer">Printer</label>
                <select id="assignment-printer" name="printer_id" required>\(printerOptions)</select>
                <label for="assignment-profile">Profile</label>
                <select id="assignment-profile" name="profile_id">\(profileOptions)</select>
                <label for="assignment-kind">Target</label>
                <select id="assignment-kind" name="target_kind" aria-describedby="assignment-hint">\(kinds)</select>
                <label for="assignment-value">Target value</label>
                <input id="assignment-value" name="target_value" maxlength="256" aria-describedby="assignment-hint" value="\(values["target_value"] ?? "")">
                <p class="hint" id="assignment-hint">Everyone needs no value. A computer is a host name or agent ID, a user an account name, \
                an IP range a CIDR block such as 10.1.0.0/16; groups and OUs are named as the directory names them. \
                The most specific match wins: user, computer, group, OU, IP range, everyone.</p>
                <p><button type="submit" id="create-assignment-submit">Assign</button></p>
                </form>
                """
        let body: HTML = """
            <h2>Assign a printer</h2>
            \(form)
            <h2>Assignments</h2>
            \(ConsolePage.table(caption: "Who gets which printer", columns: ["Printer", "Profile", "Target", "Value", ""], rows: rows, empty: "No assignments yet.", id: "assignments"))
            """
        return self.layout(.assignments, session, notice: notice, body)
    }

    static func kindLabel(_ kind: AssignmentTarget.Kind) -> String {
        switch kind {
        case .everyone: return "Everyone"
        case .computer: return "Computer"
        case .user: return "User"
        case .group: return "AD group"
        case .organizationalUnit: return "AD OU"
        case .ipRange: return "IP range"
        }
    }

    // MARK: Agents

    func agentsPage(_ session: ConsoleSessions.Session, notice: Notice?) async throws -> HTML {
        let agents = try await self.store.agents()
        let rows = agents.map { agent -> HTML in
            let revoke = agent.revokedAt == nil
                ? ConsolePage.button("Revoke", action: "/console/agents/\(agent.id.rawValue)/revoke", csrfToken: session.csrfToken, id: "revoke-\(agent.id.rawValue)")
                : HTML(unsafeRaw: "revoked \(HTML.escape(ConsolePage.time(agent.revokedAt)))")
            return """
                <tr data-id="\(agent.id.rawValue)"><td>\(agent.hostname)</td><td>\(agent.os)</td><td>\(agent.agentVersion)</td>\
                <td class="mono">\(agent.machineID)</td><td>\(ConsolePage.time(agent.enrolledAt))</td><td>\(revoke)</td></tr>
                """
        }
        let body: HTML = """
            <p class="hint">Revoking an agent revokes its device credential: its next call is refused, and it must enroll again with a token.</p>
            \(ConsolePage.table(caption: "Enrolled agents by host name", columns: ["Host name", "OS", "Agent version", "Machine ID", "Enrolled", ""], rows: rows, empty: "No agent has enrolled yet.", id: "agents"))
            """
        return self.layout(.agents, session, notice: notice, body)
    }

    // MARK: Reports

    func reportsPage(_ session: ConsoleSessions.Session, notice: Notice?, query: FormFields) async throws -> HTML {
        let filter = try AdminOperations.jobFilter { query[$0] }
        let (limit, offset) = try AdminOperations.paging({ query[$0] }, defaultLimit: 50)
        async let totals = self.store.jobTotals(matching: filter)
        let jobs = try await self.store.jobs(matching: filter, limit: limit, offset: offset)
        let sum = try await totals
        let filterPairs = ["from", "to", "user", "printer", "computer"].compactMap { name in query.text(name).map { (name, $0) } }
        func link(offset: Int) -> String { "/console/reports?" + FormFields.encode(filterPairs + [("limit", String(limit)), ("offset", String(offset))]) }
        var pager = [HTML]()
        if offset > 0 { pager.append("<a href=\"\(link(offset: max(0, offset - limit)))\" id=\"previous-page\" rel=\"prev\">Previous \(limit)</a>") }
        if offset + jobs.count < sum.jobs { pager.append("<a href=\"\(link(offset: offset + limit))\" id=\"next-page\" rel=\"next\">Next \(limit)</a>") }
        let csv = "/console/reports/jobs.csv" + (filterPairs.isEmpty ? "" : "?" + FormFields.encode(filterPairs))
        let share = String(format: "%.1f%%", sum.colorShare * 100)
        let shown: HTML = jobs.isEmpty ? "" : "Jobs \(offset + 1)–\(offset + jobs.count) of \(sum.jobs)."
        let body: HTML = """
            <form method="get" action="/console/reports" id="report-filter" class="card grid">
            <div><label for="report-from">From (UTC)</label><input id="report-from" name="from" type="datetime-local" step="1" value="\(query.text("from") ?? "")"></div>
            <div><label for="report-to">To (UTC, exclusive)</label><input id="report-to" name="to" type="datetime-local" step="1" value="\(query.text("to") ?? "")"></div>
            <div><label for="report-user">User</label><input id="report-user" name="user" value="\(query.text("user") ?? "")"></div>
            <div><label for="report-printer">Printer</label><input id="report-printer" name="printer" value="\(query.text("printer") ?? "")"></div>
            <div><label for="report-computer">Computer</label><input id="report-computer" name="computer" value="\(query.text("computer") ?? "")"></div>
            <div><label for="report-limit">Per page</label><select id="report-limit" name="limit">\(ConsolePage.options(["25", "50", "100", "500"].map { ($0, $0) }, selected: String(limit)))</select></div>
            <div><button type="submit" id="report-filter-submit">Filter</button></div>
            </form>
            <h2>Totals</h2>
            <dl class="counts" id="totals">
            <div><dt>Jobs</dt><dd id="total-jobs">\(sum.jobs)</dd></div>
            <div><dt>Pages printed</dt><dd id="total-pages">\(sum.pages)</dd></div>
            <div><dt>Colour pages</dt><dd id="total-color-pages">\(sum.colorPages)</dd></div>
            <div><dt>Colour share</dt><dd>\(share)</dd></div>
            </dl>
            <p class="hint">Pages count each printed job's pages times its copies. \(shown) <a href="\(csv)" id="csv-export" download>Export all matching jobs as CSV</a></p>
            \(ConsolePage.table(caption: "Jobs in submission order", columns: Self.jobColumns, rows: jobs.map(Self.jobRow), empty: "No jobs match.", id: "jobs"))
            <nav class="pager" aria-label="Pages of jobs">\(pager)</nav>
            """
        return self.layout(.reports, session, notice: notice, body)
    }

    // MARK: Audit

    func auditPage(_ session: ConsoleSessions.Session, notice: Notice?, query: FormFields) async throws -> HTML {
        let (limit, offset) = try AdminOperations.paging({ query[$0] }, defaultLimit: 50)
        let entries = try await self.store.auditEntries(limit: limit + 1, offset: offset)
        let rows = entries.prefix(limit).map { entry -> HTML in
            "<tr><td>\(ConsolePage.time(entry.at))</td><td>\(entry.actor)</td><td>\(entry.action)</td><td class=\"mono\">\(entry.target)</td><td>\(entry.detail)</td></tr>"
        }
        func link(_ offset: Int) -> String { "/console/audit?" + FormFields.encode([("limit", String(limit)), ("offset", String(offset))]) }
        var pager = [HTML]()
        if offset > 0 { pager.append("<a href=\"\(link(max(0, offset - limit)))\" id=\"previous-page\" rel=\"prev\">Newer</a>") }
        if entries.count > limit { pager.append("<a href=\"\(link(offset + limit))\" id=\"next-page\" rel=\"next\">Older</a>") }
        let body: HTML = """
            \(ConsolePage.table(caption: "Admin actions, newest first", columns: ["At", "Actor", "Action", "Target", "Detail"], rows: Array(rows), empty: "The audit log is empty.", id: "audit"))
            <nav class="pager" aria-label="Pages of the audit log">\(pager)</nav>
            """
        return self.layout(.audit, session, notice: notice, body)
    }
}
