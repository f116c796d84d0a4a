import SwiftASN1

/// One attribute with its values, as a search returns it (RFC 4511 §4.1.7).
///
/// ```
/// PartialAttribute ::= SEQUENCE {
///      type       AttributeDescription,
///      vals       SET OF value AttributeValue }
/// ```
/// Values are bytes: AD's objectSid and objectGUID are binary.
public struct LDAPAttribute: Hashable, Sendable {
    public var type: String
    public var values: [[UInt8]]

    public init(type: String, values: [[UInt8]]) {
        self.type = type
        self.values = values
    }

    public init(type: String, strings: [String]) {
        self.init(type: type, values: strings.map { Array($0.utf8) })
    }

    /// The values decoded as UTF-8.
    public var stringValues: [String] { self.values.map { String(decoding: $0, as: UTF8.self) } }

    init(decoding node: ASN1Node) throws {
        var children = BERChildren(try node.constructed(.sequence, "PartialAttribute"), "PartialAttribute")
        self.type = try children.next("type").string(.octetString, "type")
        var values: [[UInt8]] = []
        for value in try children.next("vals").constructed(.set, "vals") {
            values.append(try value.octetString(.octetString, "value"))
        }
        self.values = values
    }

    func serialize(into coder: inout DER.Serializer) {
        coder.appendConstructedNode(identifier: .sequence) { coder in
            coder.appendString(self.type)
            coder.appendConstructedNode(identifier: .set) { coder in
                for value in self.values { coder.appendOctetString(value) }
            }
        }
    }
}

/// An entry returned by a search (RFC 4511 §4.5.2).
///
/// ```
/// SearchResultEntry ::= [APPLICATION 4] SEQUENCE {
///      objectName      LDAPDN,
///      attributes      PartialAttributeList }
/// PartialAttributeList ::= SEQUENCE OF partialAttribute PartialAttribute
/// ```
public struct SearchResultEntry: Hashable, Sendable {
    public var objectName: String
    public var attributes: [LDAPAttribute]

    public init(objectName: String, attributes: [LDAPAttribute]) {
        self.objectName = objectName
        self.attributes = attributes
    }

    /// The values of `type`, matched case-insensitively as LDAP attribute descriptions are.
    public func values(of type: String) -> [[UInt8]] {
        self.attributes.first { $0.type.caseInsensitiveEquals(type) }?.values ?? []
    }

    /// The values of `type` as UTF-8 strings.
    public func strings(of type: String) -> [String] {
        self.values(of: type).map { String(decoding: $0, as: UTF8.self) }
    }

    static let identifier = ASN1Identifier.application(4)

    init(decoding node: ASN1Node) throws {
        var children = BERChildren(try node.constructed(Self.identifier, "SearchResultEntry"), "SearchResultEntry")
        self.objectName = try children.next("objectName").string(.octetString, "objectName")
        var attributes: [LDAPAttribute] = []
        for attribute in try children.next("attributes").constructed(.sequence, "attributes") {
            attributes.append(try LDAPAttribute(decoding: attribute))
        }
        self.attributes = attributes
    }

    func serialize(into coder: inout DER.Serializer) {
        coder.appendConstructedNode(identifier: Self.identifier) { coder in
            coder.appendString(self.objectName)
            coder.appendConstructedNode(identifier: .sequence) { coder in
                for attribute in self.attributes { attribute.serialize(into: &coder) }
            }
        }
    }
}

/// Continuation references returned by a search (RFC 4511 §4.5.3).
///
/// ```
/// SearchResultReference ::= [APPLICATION 19] SEQUENCE SIZE (1..MAX) OF uri URI
/// ```
public struct SearchResultReference: Hashable, Sendable {
    public var uris: [String]

    public init(uris: [String]) { self.uris = uris }

    static let identifier = ASN1Identifier.application(19)

    init(decoding node: ASN1Node) throws {
        var uris: [String] = []
        for uri in try node.constructed(Self.identifier, "SearchResultReference") {
            uris.append(try uri.string(.octetString, "URI"))
        }
        guard !uris.isEmpty else { throw LDAPCodecError.malformed("SearchResultReference needs at least one URI") }
        self.uris = uris
    }

    func serialize(into coder: inout DER.Serializer) {
        coder.appendConstructedNode(identifier: Self.identifier) { coder in
            for uri in self.uris { coder.appendString(uri) }
        }
    }
}

extension StringProtocol {
    /// ASCII case-insensitive comparison, the way LDAP compares attribute descriptions and AD
    /// compares DNs.
    func caseInsensitiveEquals<Other: StringProtocol>(_ other: Other) -> Bool {
        let lhs = self.utf8, rhs = other.utf8
        guard lhs.count == rhs.count else { return false }
        return zip(lhs, rhs).allSatisfy { LDAPCase.fold($0) == LDAPCase.fold($1) }
    }
}

enum LDAPCase {
    @inline(__always)
    static func fold(_ byte: UInt8) -> UInt8 { (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte }

    static func lowercased<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        bytes.map(fold)
    }
}
