import SwiftASN1

/// A simple or SASL bind (RFC 4511 §4.2).
///
/// ```
/// BindRequest ::= [APPLICATION 0] SEQUENCE {
///      version                 INTEGER (1 ..  127),
///      name                    LDAPDN,
///      authentication          AuthenticationChoice }
/// AuthenticationChoice ::= CHOICE {
///      simple                  [0] OCTET STRING,
///      sasl                    [3] SaslCredentials,  ... }
/// SaslCredentials ::= SEQUENCE {
///      mechanism               LDAPString,
///      credentials             OCTET STRING OPTIONAL }
/// ```
/// AD also accepts a UPN (`user@corp.example.com`) or `DOMAIN\user` in `name`; that is the
/// server's business, so `name` is kept as the client sent it.
public struct BindRequest: Hashable, Sendable {
    public enum Authentication: Hashable, Sendable {
        case simple(password: [UInt8])
        case sasl(mechanism: String, credentials: [UInt8]?)
    }

    public var version: Int
    public var name: String
    public var authentication: Authentication

    public init(version: Int = 3, name: String, authentication: Authentication) {
        self.version = version
        self.name = name
        self.authentication = authentication
    }

    /// A simple bind with a UTF-8 password.
    public static func simple(name: String, password: String) -> BindRequest {
        BindRequest(name: name, authentication: .simple(password: Array(password.utf8)))
    }

    static let identifier = ASN1Identifier.application(0)

    init(decoding node: ASN1Node) throws {
        var children = BERChildren(try node.constructed(Self.identifier, "BindRequest"), "BindRequest")
        let version = try children.next("version").integer(.integer, "version")
        guard (1...127).contains(version) else { throw LDAPCodecError.malformed("bind version \(version) out of range") }
        self.version = Int(version)
        self.name = try children.next("name").string(.octetString, "name")
        let auth = try children.next("authentication")
        switch auth.identifier {
        case .context(0):
            self.authentication = .simple(password: try auth.octetString(.context(0), "simple"))
        case .context(3):
            var sasl = BERChildren(try auth.constructed(.context(3), "sasl"), "SaslCredentials")
            let mechanism = try sasl.next("mechanism").string(.octetString, "mechanism")
            let credentials = try sasl.optional(.octetString).map { try $0.octetString(.octetString, "credentials") }
            self.authentication = .sasl(mechanism: mechanism, credentials: credentials)
        default:
            throw LDAPCodecError.unexpectedTag("unknown AuthenticationChoice \(auth.identifier)")
        }
    }

    func serialize(into coder: inout DER.Serializer) {
        coder.appendConstructedNode(identifier: Self.identifier) { coder in
            coder.appendInteger(Int64(self.version))
            coder.appendString(self.name)
            switch self.authentication {
            case .simple(let password):
                coder.appendOctetString(password, identifier: .context(0))
            case .sasl(let mechanism, let credentials):
                coder.appendConstructedNode(identifier: .context(3)) { coder in
                    coder.appendString(mechanism)
                    if let credentials { coder.appendOctetString(credentials) }
                }
            }
        }
    }
}

/// The answer to a ``BindRequest`` (RFC 4511 §4.2.2).
///
/// ```
/// BindResponse ::= [APPLICATION 1] SEQUENCE {
///      COMPONENTS OF LDAPResult,
///      serverSaslCreds    [7] OCTET STRING OPTIONAL }
/// ```
public struct BindResponse: Hashable, Sendable {
    public var result: LDAPResult
    public var serverSaslCredentials: [UInt8]?

    public init(result: LDAPResult, serverSaslCredentials: [UInt8]? = nil) {
        self.result = result
        self.serverSaslCredentials = serverSaslCredentials
    }

    static let identifier = ASN1Identifier.application(1)

    init(decoding node: ASN1Node) throws {
        var children = BERChildren(try node.constructed(Self.identifier, "BindResponse"), "BindResponse")
        self.result = try LDAPResult(components: &children)
        self.serverSaslCredentials = try children.optional(.context(7)).map { try $0.octetString(.context(7), "serverSaslCreds") }
    }

    func serialize(into coder: inout DER.Serializer) {
        coder.appendConstructedNode(identifier: Self.identifier) { coder in
            self.result.serializeComponents(into: &coder)
            if let credentials = self.serverSaslCredentials { coder.appendOctetString(credentials, identifier: .context(7)) }
        }
    }
}
