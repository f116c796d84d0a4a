import SwiftASN1

/// An extended operation request (RFC 4511 §4.12).
///
/// ```
/// ExtendedRequest ::= [APPLICATION 23] SEQUENCE {
///      requestName      [0] LDAPOID,
///      requestValue     [1] OCTET STRING OPTIONAL }
/// ```
public struct ExtendedRequest: Hashable, Sendable {
    /// StartTLS (RFC 4511 §4.14.1).
    public static let startTLSOID = "1.3.6.1.4.1.1466.20037"
    /// "Who am I?" (RFC 4532 §2).
    public static let whoAmIOID = "1.3.6.1.4.1.4203.1.11.3"

    public var name: String
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]? = nil) {
        self.name = name
        self.value = value
    }

    public static let startTLS = ExtendedRequest(name: startTLSOID)
    public static let whoAmI = ExtendedRequest(name: whoAmIOID)

    static let identifier = ASN1Identifier.application(23)

    init(decoding node: ASN1Node) throws {
        var children = BERChildren(try node.constructed(Self.identifier, "ExtendedRequest"), "ExtendedRequest")
        self.name = try children.next("requestName").string(.context(0), "requestName")
        self.value = try children.optional(.context(1)).map { try $0.octetString(.context(1), "requestValue") }
    }

    func serialize(into coder: inout DER.Serializer) {
        coder.appendConstructedNode(identifier: Self.identifier) { coder in
            coder.appendString(self.name, identifier: .context(0))
            if let value = self.value { coder.appendOctetString(value, identifier: .context(1)) }
        }
    }
}

/// An extended operation response (RFC 4511 §4.12), also used unsolicited for the Notice of
/// Disconnection (§4.4.1, responseName 1.3.6.1.4.1.1466.20036).
///
/// ```
/// ExtendedResponse ::= [APPLICATION 24] SEQUENCE {
///      COMPONENTS OF LDAPResult,
///      responseName     [10] LDAPOID OPTIONAL,
///      responseValue    [11] OCTET STRING OPTIONAL }
/// ```
/// The "Who am I?" response (RFC 4532 §2.2) carries the authzId (`dn:...`, or empty for an
/// anonymous session) in responseValue and no responseName.
public struct ExtendedResponse: Hashable, Sendable {
    /// The Notice of Disconnection's responseName (RFC 4511 §4.4.1).
    public static let noticeOfDisconnectionOID = "1.3.6.1.4.1.1466.20036"

    public var result: LDAPResult
    public var name: String?
    public var value: [UInt8]?

    public init(result: LDAPResult, name: String? = nil, value: [UInt8]? = nil) {
        self.result = result
        self.name = name
        self.value = value
    }

    /// The unsolicited notice a server sends before it drops a connection (messageID 0).
    public static func noticeOfDisconnection(_ code: LDAPResultCode, _ diagnostic: String) -> ExtendedResponse {
        ExtendedResponse(result: LDAPResult(code, diagnosticMessage: diagnostic), name: noticeOfDisconnectionOID)
    }

    static let identifier = ASN1Identifier.application(24)

    init(decoding node: ASN1Node) throws {
        var children = BERChildren(try node.constructed(Self.identifier, "ExtendedResponse"), "ExtendedResponse")
        self.result = try LDAPResult(components: &children)
        self.name = try children.optional(.context(10)).map { try $0.string(.context(10), "responseName") }
        self.value = try children.optional(.context(11)).map { try $0.octetString(.context(11), "responseValue") }
    }

    func serialize(into coder: inout DER.Serializer) {
        coder.appendConstructedNode(identifier: Self.identifier) { coder in
            self.result.serializeComponents(into: &coder)
            if let name = self.name { coder.appendString(name, identifier: .context(10)) }
            if let value = self.value { coder.appendOctetString(value, identifier: .context(11)) }
        }
    }
}
