/// A fragment of HTML whose interpolations are escaped unless they are `HTML` themselves.
///
/// The console renders agent-supplied text (host names, document names, user names) and
/// admin-supplied text (labels); any of it may hold `<script>`. Escaping by default, in
/// the type, means a page cannot forget it: `"<td>\(hostname)</td>" as HTML` escapes the
/// host name, and only another `HTML` value is inserted as markup. No template engine is
/// needed for a few server-rendered pages, and the compiler checks every one.
struct HTML: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The markup.
    private(set) var text: String

    init(unsafeRaw text: String) {
        self.text = text
    }

    init(stringLiteral value: String) {
        self.text = value
    }

    init(stringInterpolation: StringInterpolation) {
        self.text = stringInterpolation.text
    }

    var description: String { self.text }

    static let empty = HTML(unsafeRaw: "")

    /// Escapes text for an HTML element's content or a quoted attribute value: `&`, `<`,
    /// `>`, `"` and `'` become character references (OWASP's rule for both contexts).
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Joins fragments.
    static func join(_ parts: some Sequence<HTML>, separator: HTML = .empty) -> HTML {
        HTML(unsafeRaw: parts.map(\.text).joined(separator: separator.text))
    }

    static func + (lhs: HTML, rhs: HTML) -> HTML { HTML(unsafeRaw: lhs.text + rhs.text) }

    struct StringInterpolation: StringInterpolationProtocol {
        var text = ""

        init(literalCapacity: Int, interpolationCount: Int) {
            self.text.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        mutating func appendLiteral(_ literal: String) { self.text += literal }

        /// Text: escaped.
        mutating func appendInterpolation(_ value: String) { self.text += HTML.escape(value) }

        /// Optional text: escaped, or `fallback` (escaped) when `nil`.
        mutating func appendInterpolation(_ value: String?, or fallback: String) { self.text += HTML.escape(value ?? fallback) }

        mutating func appendInterpolation(_ value: Int) { self.text += String(value) }

        mutating func appendInterpolation(_ value: Int64) { self.text += String(value) }

        /// Markup: inserted as is.
        mutating func appendInterpolation(_ html: HTML) { self.text += html.text }

        /// A list of markup fragments, concatenated.
        mutating func appendInterpolation(_ list: [HTML]) { for html in list { self.text += html.text } }
    }
}
