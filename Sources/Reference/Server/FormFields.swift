import Foundation

/// The fields of an `application/x-www-form-urlencoded` form body or query string (WHATWG
/// URL standard, "application/x-www-form-urlencoded parsing": `+` is a space, then
/// percent-decoding). A field given twice keeps its first value.
struct FormFields: Sendable {
    private var values: [String: String] = [:]

    init(_ pairs: [(String, String)] = []) {
        for (name, value) in pairs where self.values[name] == nil { self.values[name] = value }
    }

    init(urlEncoded text: String) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            if self.values[name] == nil { self.values[name] = value }
        }
    }

    /// The value as sent, `nil` when the field is absent.
    subscript(_ name: String) -> String? { self.values[name] }

    /// The value, `nil` when absent or empty: an optional text input left blank.
    func text(_ name: String) -> String? {
        guard let value = self.values[name], !value.isEmpty else { return nil }
        return value
    }

    /// A whole number typed into a field, `nil` when blank.
    func integer(_ name: String) throws -> Int? {
        guard let text = self.text(name) else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else { throw ServerError.invalidField("\(name) must be a whole number") }
        return value
    }

    /// A query string for links (`name=value&...`), percent-encoding all but RFC 3986's unreserved characters.
    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(Self.percentEncode($0.0))=\(Self.percentEncode($0.1))" }.joined(separator: "&")
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func percentEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? ""
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        // Invalid escapes are kept as typed rather than dropping the field.
        return spaced.removingPercentEncoding ?? spaced
    }
}
