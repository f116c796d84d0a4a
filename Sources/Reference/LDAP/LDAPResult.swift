import SwiftASN1

/// The common result of every LDAP response (RFC 4511 §4.1.9).
///
/// ```
/// LDAPResult ::= SEQUENCE {
///      resultCode         ENUMERATED { ... },
///      matchedDN          LDAPDN,
///      diagnosticMessage  LDAPString,
///      referral           [3] Referral OPTIONAL }
/// Referral ::= SEQUENCE SIZE (1..MAX) OF uri URI
/// ```
/// Responses that extend it (BindResponse, ExtendedResponse) use `COMPONENTS OF LDAPResult`,
/// so the fields are read and written inline through ``decodeComponents(_:)`` and
/// ``serializeComponents(into:)``.
public struct LDAPResult: Hashable, Sendable {
    public var resultCode: LDAPResultCode
    public var matchedDN: String
    /// AD puts its machine-readable detail here, e.g. `... data 52e, v4563`.
    public var diagnosticMessage: String
    public var referral: [String]?

    public init(_ resultCode: LDAPResultCode, matchedDN: String = "", diagnosticMessage: String = "", referral: [String]? = nil) {
        self.resultCode = resultCode
        self.matchedDN = matchedDN
        self.diagnosticMessage = diagnosticMessage
        self.referral = referral
    }

    public static let success = LDAPResult(.success)

    init(decoding children: ASN1NodeCollection, _ what: String) throws {
        var iterator = BERChildren(children, what)
        try self.init(components: &iterator)
    }

    init(components iterator: inout BERChildren) throws {
        let code = try iterator.next("resultCode").integer(.enumerated, "\(iterator.what).resultCode")
        guard let raw = Int(exactly: code) else { throw LDAPCodecError.malformed("resultCode out of range") }
        self.resultCode = LDAPResultCode(rawValue: raw)
        self.matchedDN = try iterator.next("matchedDN").string(.octetString, "matchedDN")
        self.diagnosticMessage = try iterator.next("diagnosticMessage").string(.octetString, "diagnosticMessage")
        if let referralNode = iterator.optional(.context(3)) {
            var uris: [String] = []
            for uri in try referralNode.constructed(.context(3), "referral") {
                uris.append(try uri.string(.octetString, "referral URI"))
            }
            self.referral = uris
        } else {
            self.referral = nil
        }
    }

    func serializeComponents(into coder: inout DER.Serializer) {
        coder.appendInteger(Int64(self.resultCode.rawValue), identifier: .enumerated)
        coder.appendString(self.matchedDN)
        coder.appendString(self.diagnosticMessage)
        if let referral = self.referral {
            coder.appendConstructedNode(identifier: .context(3)) { coder in
                for uri in referral { coder.appendString(uri) }
            }
        }
    }
}
