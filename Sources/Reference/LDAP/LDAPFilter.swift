import SwiftASN1

/// A search filter (RFC 4511 §4.5.1.7), with its RFC 4515 string form in
/// `LDAPFilter+String.swift` and its evaluator in `LDAPFilter+Evaluation.swift`.
///
/// ```
/// Filter ::= CHOICE {
///      and             [0] SET SIZE (1..MAX) OF filter Filter,
///      or              [1] SET SIZE (1..MAX) OF filter Filter,
///      not             [2] Filter,
///      equalityMatch   [3] AttributeValueAssertion,
///      substrings      [4] SubstringFilter,
///      greaterOrEqual  [5] AttributeValueAssertion,
///      lessOrEqual     [6] AttributeValueAssertion,
///      present         [7] AttributeDescription,
///      approxMatch     [8] AttributeValueAssertion,
///      extensibleMatch [9] MatchingRuleAssertion,
///      ...  }
/// SubstringFilter ::= SEQUENCE {
///      type           AttributeDescription,
///      substrings     SEQUENCE SIZE (1..MAX) OF substring CHOICE {
///           initial [0] AssertionValue,  -- can occur at most once
///           any     [1] AssertionValue,
///           final   [2] AssertionValue } -- can occur at most once }
/// MatchingRuleAssertion ::= SEQUENCE {
///      matchingRule    [1] MatchingRuleId OPTIONAL,
///      type            [2] AttributeDescription OPTIONAL,
///      matchValue      [3] AssertionValue,
///      dnAttributes    [4] BOOLEAN DEFAULT FALSE }
/// ```
/// RFC 4526's absolute true/false filters (`(&)`, `(|)`) are empty and/or sets; they are accepted.
public indirect enum LDAPFilter: Hashable, Sendable {
    case and([LDAPFilter])
    case or([LDAPFilter])
    case not(LDAPFilter)
    case equality(attribute: String, value: [UInt8])
    case substrings(attribute: String, initial: [UInt8]?, any: [[UInt8]], final: [UInt8]?)
    case greaterOrEqual(attribute: String, value: [UInt8])
    case lessOrEqual(attribute: String, value: [UInt8])
    case present(attribute: String)
    case approximate(attribute: String, value: [UInt8])
    case extensible(matchingRule: String?, attribute: String?, value: [UInt8], dnAttributes: Bool)

    /// LDAP_MATCHING_RULE_IN_CHAIN: walks DN-valued links transitively (AD, MS-ADTS 3.1.1.3.4.4.3).
    public static let inChainRule = "1.2.840.113556.1.4.1941"
    /// LDAP_MATCHING_RULE_BIT_AND.
    public static let bitwiseAndRule = "1.2.840.113556.1.4.803"
    /// LDAP_MATCHING_RULE_BIT_OR.
    public static let bitwiseOrRule = "1.2.840.113556.1.4.804"

    /// A filter that matches every entry, as ldapsearch sends by default.
    public static let objectClassPresent = LDAPFilter.present(attribute: "objectClass")

    init(decoding node: ASN1Node) throws {
        func children(_ what: String) throws -> ASN1NodeCollection {
            guard case .constructed(let children) = node.content else {
                throw LDAPCodecError.malformed("\(what) filter must be constructed")
            }
            return children
        }
        func assertion(_ what: String) throws -> (String, [UInt8]) {
            var fields = BERChildren(try children(what), what)
            let attribute = try fields.next("attributeDesc").string(.octetString, "attributeDesc")
            let value = try fields.next("assertionValue").octetString(.octetString, "assertionValue")
            return (attribute, value)
        }
        guard node.identifier.tagClass == .contextSpecific else {
            throw LDAPCodecError.unexpectedTag("filter has tag \(node.identifier)")
        }
        switch node.identifier.tagNumber {
        case 0: self = .and(try children("and").map(LDAPFilter.init(decoding:)))
        case 1: self = .or(try children("or").map(LDAPFilter.init(decoding:)))
        case 2:
            var inner = BERChildren(try children("not"), "not")
            self = .not(try LDAPFilter(decoding: try inner.next("filter")))
        case 3:
            let (attribute, value) = try assertion("equalityMatch")
            self = .equality(attribute: attribute, value: value)
        case 4:
            var fields = BERChildren(try children("substrings"), "SubstringFilter")
            let attribute = try fields.next("type").string(.octetString, "type")
            var initial: [UInt8]?
            var any: [[UInt8]] = []
            var final: [UInt8]?
            let parts = try fields.next("substrings").constructed(.sequence, "substrings")
            for part in parts {
                guard case .primitive(let bytes) = part.content, part.identifier.tagClass == .contextSpecific else {
                    throw LDAPCodecError.malformed("substring must be a primitive context tag")
                }
                switch part.identifier.tagNumber {
                case 0 where initial == nil && any.isEmpty && final == nil: initial = Array(bytes)
                case 1 where final == nil: any.append(Array(bytes))
                case 2 where final == nil: final = Array(bytes)
                default: throw LDAPCodecError.malformed("substring parts out of order")
                }
            }
            guard initial != nil || !any.isEmpty || final != nil else {
                throw LDAPCodecError.malformed("SubstringFilter needs at least one substring")
            }
            self = .substrings(attribute: attribute, initial: initial, any: any, final: final)
        case 5:
            let (attribute, value) = try assertion("greaterOrEqual")
            self = .greaterOrEqual(attribute: attribute, value: value)
        case 6:
            let (attribute, value) = try assertion("lessOrEqual")
            self = .lessOrEqual(attribute: attribute, value: value)
        case 7:
            self = .present(attribute: try node.string(.context(7), "present"))
        case 8:
            let (attribute, value) = try assertion("approxMatch")
            self = .approximate(attribute: attribute, value: value)
        case 9:
            var fields = BERChildren(try children("extensibleMatch"), "MatchingRuleAssertion")
            let rule = try fields.optional(.context(1)).map { try $0.string(.context(1), "matchingRule") }
            let type = try fields.optional(.context(2)).map { try $0.string(.context(2), "type") }
            let value = try fields.next("matchValue").octetString(.context(3), "matchValue")
            let dnAttributes = try fields.optional(.context(4)).map { node -> Bool in
                let bytes = try node.primitive(.context(4), "dnAttributes")
                guard bytes.count == 1 else { throw LDAPCodecError.malformed("dnAttributes must be one octet") }
                return bytes.first! != 0
            } ?? false
            guard rule != nil || type != nil else {
                throw LDAPCodecError.malformed("extensibleMatch needs a matchingRule or a type")
            }
            self = .extensible(matchingRule: rule, attribute: type, value: value, dnAttributes: dnAttributes)
        default:
            throw LDAPCodecError.unexpectedTag("unknown filter choice [\(node.identifier.tagNumber)]")
        }
    }

    func serialize(into coder: inout DER.Serializer) {
        func assertion(_ tag: UInt, _ attribute: String, _ value: [UInt8]) {
            coder.appendConstructedNode(identifier: .context(tag)) { coder in
                coder.appendString(attribute)
                coder.appendOctetString(value)
            }
        }
        switch self {
        case .and(let filters):
            coder.appendConstructedNode(identifier: .context(0)) { coder in
                for filter in filters { filter.serialize(into: &coder) }
            }
        case .or(let filters):
            coder.appendConstructedNode(identifier: .context(1)) { coder in
                for filter in filters { filter.serialize(into: &coder) }
            }
        case .not(let filter):
            coder.appendConstructedNode(identifier: .context(2)) { coder in filter.serialize(into: &coder) }
        case .equality(let attribute, let value): assertion(3, attribute, value)
        case .substrings(let attribute, let initial, let any, let final):
            coder.appendConstructedNode(identifier: .context(4)) { coder in
                coder.appendString(attribute)
                coder.appendConstructedNode(identifier: .sequence) { coder in
                    if let initial { coder.appendOctetString(initial, identifier: .context(0)) }
                    for part in any { coder.appendOctetString(part, identifier: .context(1)) }
                    if let final { coder.appendOctetString(final, identifier: .context(2)) }
                }
            }
        case .greaterOrEqual(let attribute, let value): assertion(5, attribute, value)
        case .lessOrEqual(let attribute, let value): assertion(6, attribute, value)
        case .present(let attribute): coder.appendString(attribute, identifier: .context(7))
        case .approximate(let attribute, let value): assertion(8, attribute, value)
        case .extensible(let rule, let attribute, let value, let dnAttributes):
            coder.appendConstructedNode(identifier: .context(9)) { coder in
                if let rule { coder.appendString(rule, identifier: .context(1)) }
                if let attribute { coder.appendString(attribute, identifier: .context(2)) }
                coder.appendOctetString(value, identifier: .context(3))
                if dnAttributes { coder.appendPrimitiveNode(identifier: .context(4)) { $0.append(0xFF) } }
            }
        }
    }
}
