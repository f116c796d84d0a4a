import Foundation
import LDAP

extension SimulatedDirectory {
    /// The whole directory as LDIF (RFC 2849), parents before children, so it can be loaded into
    /// another server (`slapadd`, `ldapadd`) or diffed between seeds.
    ///
    /// Values that are not SAFE-STRINGs (binary objectSid/objectGUID, or text with a leading
    /// space, colon or `<`, or non-ASCII) are written base64-encoded with `::`.
    public func ldif() -> String {
        // No `version: 1` line: OpenLDAP's slapadd rejects it, and RFC 2849 readers treat a
        // file without it as version 1.
        var text = ""
        for (position, entry) in self.entries.enumerated() {
            text += (position == 0 ? "" : "\n") + Self.line("dn", Array(entry.dn.description.utf8))
            for attribute in entry.attributes {
                for value in attribute.values { text += Self.line(attribute.type, value) }
            }
        }
        return text
    }

    static func line(_ type: String, _ value: [UInt8]) -> String {
        if isSafeString(value) {
            return "\(type): \(String(decoding: value, as: UTF8.self))\n"
        }
        return "\(type):: \(Data(value).base64EncodedString())\n"
    }

    /// RFC 2849: SAFE-INIT-CHAR is any ASCII but NUL, LF, CR, space, colon and `<`; SAFE-CHAR
    /// is any ASCII but NUL, LF and CR. A trailing space is also encoded, as the RFC advises.
    static func isSafeString(_ value: [UInt8]) -> Bool {
        guard let first = value.first else { return true }
        if first == UInt8(ascii: " ") || first == UInt8(ascii: ":") || first == UInt8(ascii: "<") { return false }
        if value.last == UInt8(ascii: " ") { return false }
        return value.allSatisfy { $0 != 0 && $0 != 0x0A && $0 != 0x0D && $0 < 0x80 }
    }
}
