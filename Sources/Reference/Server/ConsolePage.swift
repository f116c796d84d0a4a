import Foundation

/// The console's page frame and small pieces (tables, buttons, the login and error pages,
/// the stylesheet). Every value goes in through ``HTML`` interpolation, so it is escaped.
///
/// Accessibility: one `h1` per page, a skip link, a labelled navigation with
/// `aria-current`, `label` for every input, table captions and column headers, notices
/// in `role=status` / `role=alert`, and visible focus outlines.
enum ConsolePage {
    /// The whole page around `body`.
    static func layout(title: String, section: Console.Section?, user: String?, csrfToken: String?, notice: Notice?, body: HTML) -> HTML {
        var header = HTML.empty
        if let user, let csrfToken {
            let links = Console.Section.allCases.map { item -> HTML in
                let current: HTML = item == section ? #" aria-current="page""# : ""
                return "<li><a href=\"\(item.path)\"\(current)>\(item.title)</a></li>"
            }
            header = """
                <header class="bar">
                <span class="brand">Printplane</span>
                <nav aria-label="Console"><ul>\(links)</ul></nav>
                <form method="post" action="/console/logout" class="signout">\(Self.csrfField(csrfToken))<span class="who">Signed in as \(user)</span> <button type="submit" id="sign-out">Sign out</button></form>
                </header>
                """
        } else {
            header = #"<header class="bar"><span class="brand">Printplane</span></header>"#
        }
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · Printplane console</title>
            <link rel="stylesheet" href="/console/console.css">
            </head>
            <body>
            <a class="skip" href="#main">Skip to content</a>
            \(header)
            <main id="main">
            <h1>\(title)</h1>
            \(Self.notice(notice))
            \(body)
            </main>
            </body>
            </html>

            """
    }

    static func notice(_ notice: Notice?) -> HTML {
        switch notice {
        case .none: return .empty
        case .done(let text): return "<p class=\"notice\" role=\"status\" id=\"notice\">\(text)</p>"
        case .error(let text): return "<p class=\"error\" role=\"alert\" id=\"error\">\(text)</p>"
        }
    }

    static func csrfField(_ token: String) -> HTML {
        "<input type=\"hidden\" name=\"csrf_token\" value=\"\(token)\">"
    }

    /// A one-button form that POSTs to `action` (delete, revoke).
    static func button(_ label: String, action: String, csrfToken: String, id: String, danger: Bool = true) -> HTML {
        let style: HTML = danger ? #" class="danger""# : ""
        return "<form method=\"post\" action=\"\(action)\" class=\"inline\">\(Self.csrfField(csrfToken))<button type=\"submit\" id=\"\(id)\"\(style)>\(label)</button></form>"
    }

    /// A table, or a sentence when there are no rows.
    static func table(caption: String, columns: [String], rows: [HTML], empty: String, id: String) -> HTML {
        guard !rows.isEmpty else { return "<p class=\"empty\" id=\"\(id)\">\(empty)</p>" }
        let head = columns.map { column -> HTML in "<th scope=\"col\">\(column)</th>" }
        return """
            <div class="scroll"><table id="\(id)">
            <caption>\(caption)</caption>
            <thead><tr>\(head)</tr></thead>
            <tbody>
            \(rows)
            </tbody>
            </table></div>
            """
    }

    /// `<option>`s, the one whose value is `selected` marked.
    static func options(_ items: [(value: String, label: String)], selected: String?) -> [HTML] {
        items.map { item in
            let mark: HTML = item.value == selected ? " selected" : ""
            return "<option value=\"\(item.value)\"\(mark)>\(item.label)</option>"
        }
    }

    /// A time as `2026-01-31 08:00:00 UTC`, or `fallback`.
    static func time(_ date: Date?, fallback: String = "—") -> String {
        guard let date else { return fallback }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: date)
    }

    /// A byte count for people (`1.5 MiB`).
    static func bytes(_ count: Int64) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) bytes" : String(format: "%.1f %@", value, units[unit])
    }

    // MARK: Pages without a session

    static func login(token: String, usesUsername: Bool, notice: Notice?) -> HTML {
        let username: HTML = usesUsername
            ? """
                <label for="username">User name</label>
                <input id="username" name="username" autocomplete="username" aria-describedby="username-hint">
                <p class="hint" id="username-hint">Leave empty to sign in with the admin key.</p>
                """
            : ""
        let secretLabel = usesUsername ? "Password or admin key" : "Admin key"
        let body: HTML = """
            <form method="post" action="/console/login" id="login-form" class="card">
            \(Self.csrfField(token))
            \(username)
            <label for="secret">\(secretLabel)</label>
            <input id="secret" name="secret" type="password" autocomplete="current-password" required>
            <button type="submit" id="sign-in">Sign in</button>
            </form>
            <p class="hint">The admin key is the contents of <code>admin.key</code> in the server's data directory.</p>
            """
        return Self.layout(title: "Sign in", section: nil, user: nil, csrfToken: nil, notice: notice, body: body)
    }

    static func error(status: Int, message: String) -> HTML {
        let body: HTML = """
            <p>\(message)</p>
            <p><a href="/console">Back to the console</a> · <a href="/console/login">Sign in</a></p>
            """
        return Self.layout(title: "Error \(status)", section: nil, user: nil, csrfToken: nil, notice: nil, body: body)
    }

    // MARK: The stylesheet

    /// The one stylesheet, served at `/console/console.css`: plain, readable, high contrast.
    static let stylesheet = """
        :root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa; --accent: #0b5cad; --danger: #b42318; --ok: #116329; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
        a { color: var(--accent); }
        a:focus, button:focus, input:focus, select:focus { outline: 3px solid #f59e0b; outline-offset: 1px; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        .skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem; }
        .skip:focus { left: .5rem; }
        .bar { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem; padding: .5rem 1rem; border-bottom: 1px solid var(--line); background: var(--panel); }
        .brand { font-weight: 700; }
        nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
        nav a[aria-current="page"] { font-weight: 700; color: var(--ink); text-decoration: none; border-bottom: 2px solid var(--accent); }
        .signout { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
        .who { color: var(--muted); font-size: .9rem; }
        main { max-width: 78rem; margin: 0 auto; padding: 1rem; }
        h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
        h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
        .notice, .error { padding: .6rem .8rem; border-radius: 4px; border: 1px solid; }
        .notice { color: var(--ok); border-color: var(--ok); background: #e6f4ea; }
        .error { color: var(--danger); border-color: var(--danger); background: #fdecea; }
        .card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 1rem; max-width: 40rem; }
        form.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: .5rem 1rem; align-items: end; max-width: none; }
        label { display: block; font-weight: 600; font-size: .9rem; margin-top: .4rem; }
        input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid #8c959f; border-radius: 4px; background: var(--bg); color: var(--ink); }
        input[type="checkbox"] { width: auto; }
        .card input:not([type="checkbox"]), .card select { width: 100%; }
        button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
        button.danger { background: var(--bg); color: var(--danger); border-color: var(--danger); }
        form.inline { display: inline; }
        .hint { color: var(--muted); font-size: .9rem; margin: .25rem 0; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .95rem; }
        caption { text-align: left; font-weight: 600; padding: .25rem 0; }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: var(--panel); }
        td.num, th.num { text-align: right; }
        code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em; word-break: break-all; }
        .secret { border: 2px solid var(--accent); border-radius: 6px; padding: 1rem; background: #eef5fc; }
        .secret code { font-size: 1.05rem; }
        dl.counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); gap: .75rem; }
        dl.counts div { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .75rem; background: var(--panel); }
        dl.counts dt { color: var(--muted); font-size: .9rem; }
        dl.counts dd { margin: 0; font-size: 1.5rem; font-weight: 700; }
        .pager { display: flex; gap: 1rem; }
        .empty { color: var(--muted); }
        """
}
