import Crypto
import Foundation
import SwiftASN1
import X509

/// A small private CA: the server's trust root on a single machine (DESIGN.md §1.5).
///
/// On first start the server generates one, issues itself a leaf certificate whose
/// subject alternative names (RFC 5280 §4.2.1.6) carry the DNS names and IP addresses
/// it listens on, and writes both as PEM. Agents and the CLI trust the CA file only.
public struct CertificateAuthority: Sendable {
    /// The self-signed CA certificate.
    public let certificate: Certificate
    private let privateKey: P256.Signing.PrivateKey

    /// Generates a new P-256 CA valid for `years`.
    public static func generate(commonName: String = "Printplane Local CA", now: Date = Date(), years: Int = 10) throws -> CertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let name = try X509.DistinguishedName {
            OrganizationName("Printplane")
            CommonName(commonName)
        }
        let publicKey = Certificate.PublicKey(key.publicKey)
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(years) * 365 * 86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        return CertificateAuthority(certificate: certificate, privateKey: key)
    }

    /// Loads a CA written by ``certificatePEM`` and ``privateKeyPEM``.
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        self.certificate = try Certificate(pemEncoded: certificatePEM)
        self.privateKey = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
    }

    private init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// The CA certificate as PEM: the file agents and the CLI trust.
    public var certificatePEM: String {
        get throws { try self.certificate.serializeAsPEM().pemString }
    }

    /// The CA private key as PKCS#8 PEM; keep it 0600.
    public var privateKeyPEM: String { self.privateKey.pemRepresentation }

    /// SHA-256 over the CA certificate's DER, as colon-separated uppercase hex (as `openssl x509 -fingerprint -sha256` prints it).
    public var fingerprintSHA256: String {
        get throws { try Self.fingerprint(of: self.certificate) }
    }

    /// The SHA-256 fingerprint of any certificate, in `openssl` style.
    public static func fingerprint(of certificate: Certificate) throws -> String {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return SHA256.hash(data: serializer.serializedBytes).map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    /// Issues a TLS server certificate for the given names and addresses, with a new key.
    public func issueServerCertificate(dnsNames: [String], ipAddresses: [IPAddress], now: Date = Date(), days: Int = 825) throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let certificate = try self.issueServerCertificate(
            for: Certificate.PublicKey(key.publicKey), dnsNames: dnsNames, ipAddresses: ipAddresses, now: now, days: days)
        return IssuedCertificate(certificate: certificate, privateKeyPEM: key.pemRepresentation)
    }

    /// Issues a TLS server certificate for a key someone else holds (a LAN driver cache's,
    /// from its certificate signing request): a leaf (`CA:FALSE`), `serverAuth` only, for
    /// exactly `dnsNames` and `ipAddresses`, valid for `days`.
    public func issueServerCertificate(for publicKey: Certificate.PublicKey, dnsNames: [String], ipAddresses: [IPAddress], now: Date = Date(), days: Int) throws -> Certificate {
        let commonName = dnsNames.first ?? ipAddresses.first?.description ?? "printplane-server"
        let subject = try X509.DistinguishedName {
            OrganizationName("Printplane")
            CommonName(commonName)
        }
        var names = dnsNames.map { GeneralName.dnsName($0) }
        names += ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice($0.bytes))) }
        let issuerKeyIdentifier = try self.certificate.extensions.subjectKeyIdentifier?.keyIdentifier
        return try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
            issuer: self.certificate.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: issuerKeyIdentifier)
            },
            issuerPrivateKey: Certificate.PrivateKey(self.privateKey)
        )
    }
}

/// A leaf certificate and its private key, ready to write as PEM.
public struct IssuedCertificate: Sendable {
    public let certificate: Certificate
    /// PKCS#8 PEM of the leaf's private key.
    public let privateKeyPEM: String

    /// The certificate as PEM.
    public var certificatePEM: String {
        get throws { try self.certificate.serializeAsPEM().pemString }
    }
}
