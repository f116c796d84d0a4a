import SwiftASN1

/// A search (RFC 4511 §4.5.1).
///
/// ```
/// SearchRequest ::= [APPLICATION 3] SEQUENCE {
///      baseObject      LDAPDN,
///      scope           ENUMERATED { baseObject (0), singleLevel (1), wholeSubtree (2), ... },
///      derefAliases    ENUMERATED { neverDerefAliases (0), derefInSearching (1),
///                                   derefFindingBaseObj (2), derefAlways (3) },
///      sizeLimit       INTEGER (0 ..  maxInt),
///      timeLimit       INTEGER (0 ..  maxInt),
///      typesOnly       BOOLEAN,
///      filter          Filter,
///      attributes      AttributeSelection }
/// AttributeSelection ::= SEQUENCE OF selector LDAPString
/// ```
public struct SearchRequest: Hashable, Sendable {
    public enum Scope: Int, Hashable, Sendable {
        case baseObject = 0
        case singleLevel = 1
        case wholeSubtree = 2
    }

    public var baseObject: String
    public var scope: Scope
    public var derefAliases: Int
    public var sizeLimit: Int
    public var timeLimit: Int
    public var typesOnly: Bool
    public var filter: LDAPFilter
    /// Empty or `*` means all user attributes; `1.1` means none (RFC 4511 §4.5.1.8).
    public var attributes: [String]

    public init(
        baseObject: String,
        scope: Scope = .wholeSubtree,
        derefAliases: Int = 0,
        sizeLimit: Int = 0,
        timeLimit: Int = 0,
        typesOnly: Bool = false,
        filter: LDAPFilter = .objectClassPresent,
        attributes: [String] = []
    ) {
        self.baseObject = baseObject
        self.scope = scope
        self.derefAliases = derefAliases
        self.sizeLimit = sizeLimit
        self.timeLimit = timeLimit
        self.typesOnly = typesOnly
        self.filter = filter
        self.attributes = attributes
    }

    static let identifier = ASN1Identifier.application(3)

    init(decoding node: ASN1Node) throws {
        var children = BERChildren(try node.constructed(Self.identifier, "SearchRequest"), "SearchRequest")
        self.baseObject = try children.next("baseObject").string(.octetString, "baseObject")
        let scope = try children.next("scope").integer(.enumerated, "scope")
        guard let known = Scope(rawValue: Int(scope)) else { throw LDAPCodecError.malformed("unknown search scope \(scope)") }
        self.scope = known
        let deref = try children.next("derefAliases").integer(.enumerated, "derefAliases")
        guard (0...3).contains(deref) else { throw LDAPCodecError.malformed("derefAliases \(deref) out of range") }
        self.derefAliases = Int(deref)
        let sizeLimit = try children.next("sizeLimit").integer(.integer, "sizeLimit")
        let timeLimit = try children.next("timeLimit").integer(.integer, "timeLimit")
        guard sizeLimit >= 0, sizeLimit <= Int32.max, timeLimit >= 0, timeLimit <= Int32.max else {
            throw LDAPCodecError.malformed("size or time limit out of range")
        }
        self.sizeLimit = Int(sizeLimit)
        self.timeLimit = Int(timeLimit)
        self.typesOnly = try children.next("typesOnly").boolean("typesOnly")
        self.filter = try LDAPFilter(decoding: try children.next("filter"))
        var attributes: [String] = []
        for selector in try children.next("attributes").constructed(.sequence, "attributes") {
            attributes.append(try selector.string(.octetString, "selector"))
        }
        self.attributes = attributes
    }

    func serialize(into coder: inout DER.Serializer) {
        coder.appendConstructedNode(identifier: Self.identifier) { coder in
            coder.appendString(self.baseObject)
            coder.appendInteger(Int64(self.scope.rawValue), identifier: .enumerated)
            coder.appendInteger(Int64(self.derefAliases), identifier: .enumerated)
            coder.appendInteger(Int64(self.sizeLimit))
            coder.appendInteger(Int64(self.timeLimit))
            coder.appendBoolean(self.typesOnly)
            self.filter.serialize(into: &coder)
            coder.appendConstructedNode(identifier: .sequence) { coder in
                for attribute in self.attributes { coder.appendString(attribute) }
            }
        }
    }
}
