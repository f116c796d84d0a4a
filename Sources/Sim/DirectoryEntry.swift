import LDAP
import PrintplaneCore

/// One entry of the simulated directory: its DN and attributes, with a case-insensitive index
/// of attribute names (AD attribute names are case-insensitive).
public struct DirectoryEntry: Sendable {
    public let dn: DistinguishedName
    public private(set) var attributes: [LDAPAttribute]
    private var index: [String: Int]

    init(dn: DistinguishedName, attributes: [LDAPAttribute]) {
        self.dn = dn
        self.attributes = []
        self.index = [:]
        for attribute in attributes { self.append(attribute) }
    }

    /// The values of `name`, matched case-insensitively.
    public func values(of name: String) -> [[UInt8]] {
        // Clients mostly spell attributes the canonical way, so try that before folding case.
        guard let position = self.index[name] ?? self.index[name.lowercased()] else { return [] }
        return self.attributes[position].values
    }

    /// The first value of `name` as a string.
    public func string(_ name: String) -> String? {
        self.values(of: name).first.map { String(decoding: $0, as: UTF8.self) }
    }

    mutating func append(_ attribute: LDAPAttribute) {
        guard !attribute.values.isEmpty else { return }
        let key = attribute.type.lowercased()
        if let position = self.index[key] {
            self.attributes[position].values += attribute.values
        } else {
            self.index[key] = self.attributes.count
            self.index[attribute.type] = self.attributes.count
            self.attributes.append(attribute)
        }
    }

    /// Drops every value of `name` (matched case-insensitively).
    mutating func remove(_ name: String) {
        let kept = self.attributes.filter { $0.type.lowercased() != name.lowercased() }
        self.attributes = []
        self.index = [:]
        for attribute in kept { self.append(attribute) }
    }

    mutating func add(_ name: String, _ strings: String...) {
        self.append(LDAPAttribute(type: name, strings: strings))
    }

    mutating func add(_ name: String, bytes: [UInt8]) {
        self.append(LDAPAttribute(type: name, values: [bytes]))
    }

    /// Whether the entry has objectClass `objectClass`.
    public func hasObjectClass(_ objectClass: String) -> Bool {
        self.values(of: "objectClass").contains { String(decoding: $0, as: UTF8.self).lowercased() == objectClass.lowercased() }
    }
}
