import LDAP
import PrintplaneCore

extension Array where Element == UInt8 {
    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self = bytes
    }

    var hex: String { self.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
}

/// A filter context over a plain array of search results, as a client holds them.
struct EntryListContext: LDAPFilterContext {
    var entries: [SearchResultEntry]

    func values(of attribute: String, in entry: SearchResultEntry) -> [[UInt8]] { entry.values(of: attribute) }
    func distinguishedName(of entry: SearchResultEntry) -> DistinguishedName { (try? DistinguishedName(entry.objectName)) ?? .root }
    func entry(normalizedDN: String) -> SearchResultEntry? {
        self.entries.first { DistinguishedName.normalize($0.objectName) == normalizedDN }
    }
}
