import SwiftASN1

/// A request or response control (RFC 4511 §4.1.11).
///
/// ```
/// Controls ::= SEQUENCE OF control Control
/// Control ::= SEQUENCE {
///      controlType             LDAPOID,
///      criticality             BOOLEAN DEFAULT FALSE,
///      controlValue            OCTET STRING OPTIONAL }
/// ```
/// Kept generic on the wire; typed controls such as ``PagedResultsControl`` convert to and from
/// it. A server must answer unavailableCriticalExtension (12) for a critical control it does not
/// implement and ignore a non-critical one (§4.1.11).
public struct LDAPControl: Hashable, Sendable {
    public var type: String
    public var criticality: Bool
    public var value: [UInt8]?

    public init(type: String, criticality: Bool = false, value: [UInt8]? = nil) {
        self.type = type
        self.criticality = criticality
        self.value = value
    }

    init(decoding node: ASN1Node) throws {
        var children = BERChildren(try node.constructed(.sequence, "Control"), "Control")
        self.type = try children.next("controlType").string(.octetString, "controlType")
        self.criticality = try children.optional(.boolean).map { try $0.boolean("criticality") } ?? false
        self.value = try children.optional(.octetString).map { try $0.octetString(.octetString, "controlValue") }
    }

    func serialize(into coder: inout DER.Serializer) {
        coder.appendConstructedNode(identifier: .sequence) { coder in
            coder.appendString(self.type)
            if self.criticality { coder.appendBoolean(true) }
            if let value = self.value { coder.appendOctetString(value) }
        }
    }
}

extension LDAPControl {
    /// Domain Scope (MS-ADTS 3.1.1.3.4.1.4): tells AD not to chase referrals to other domains.
    /// It has no value; the simulated AD has one domain, so accepting it is all it needs.
    public static let domainScopeOID = "1.2.840.113556.1.4.1339"

    /// A Domain Scope control, as Windows clients send it.
    public static func domainScope(criticality: Bool = false) -> LDAPControl {
        LDAPControl(type: Self.domainScopeOID, criticality: criticality)
    }
}

/// The Simple Paged Results control (RFC 2696), OID 1.2.840.113556.1.4.319.
///
/// ```
/// realSearchControlValue ::= SEQUENCE {
///         size            INTEGER (0..maxInt),
///                                 -- requested page size from client
///                                 -- result set size estimate from server
///         cookie          OCTET STRING }
/// ```
/// An empty cookie on the response means the result set is exhausted.
public struct PagedResultsControl: Hashable, Sendable {
    public static let oid = "1.2.840.113556.1.4.319"

    public var size: Int
    public var cookie: [UInt8]

    public init(size: Int, cookie: [UInt8] = []) {
        self.size = size
        self.cookie = cookie
    }

    /// Reads the control's value, or returns nil when `control` is some other control.
    public init?(_ control: LDAPControl) throws {
        guard control.type == Self.oid else { return nil }
        guard let value = control.value else { throw LDAPCodecError.malformed("paged results control without a value") }
        let node: ASN1Node
        do {
            node = try BER.parse(value)
        } catch {
            throw LDAPCodecError.malformed("paged results control value is not BER: \(error)")
        }
        var children = BERChildren(try node.constructed(.sequence, "realSearchControlValue"), "realSearchControlValue")
        let size = try children.next("size").integer(.integer, "size")
        guard size >= 0, let intSize = Int(exactly: size) else { throw LDAPCodecError.malformed("paged results size out of range") }
        self.size = intSize
        self.cookie = try children.next("cookie").octetString(.octetString, "cookie")
    }

    /// The control as sent on the wire.
    public func control(criticality: Bool = false) -> LDAPControl {
        var coder = DER.Serializer()
        coder.appendConstructedNode(identifier: .sequence) { coder in
            coder.appendInteger(Int64(self.size))
            coder.appendOctetString(self.cookie)
        }
        return LDAPControl(type: Self.oid, criticality: criticality, value: coder.serializedBytes)
    }
}
