import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// An ephemeral certificate authority and server certificate for the simulated AD's LDAPS and
/// StartTLS, generated at start so nobody has to make certificates to try it.
///
/// Clients trust the CA by its PEM (`LDAPTLS_CACERT=ca.pem ldapwhoami -ZZ …`). The server
/// certificate names every host in `hostnames` as a DNS name or, for addresses, an IP SAN, and
/// carries the key usages OpenLDAP's GnuTLS client insists on.
public struct SimulatedADCertificateAuthority: Sendable {
    /// The CA certificate, PEM-encoded: what clients trust.
    public let caCertificatePEM: String
    /// The server certificate, PEM-encoded.
    public let serverCertificatePEM: String
    /// The server's private key, PEM-encoded (PKCS#8).
    public let serverPrivateKeyPEM: String

    /// Generates a P-256 CA and a server certificate for `hostnames`, valid for 30 days.
    public init(hostnames: [String], commonName: String = "Printplane simulated AD") throws {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caPrivateKey = Certificate.PrivateKey(caKey)
        let caName = try X509.DistinguishedName {
            OrganizationName("Printplane")
            CommonName("\(commonName) CA")
        }
        let ca = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: caPrivateKey.publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(30 * 24 * 3600),
            issuer: caName,
            subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: caPrivateKey.publicKey)
            },
            issuerPrivateKey: caPrivateKey
        )

        let serverKey = P256.Signing.PrivateKey()
        let serverPrivateKey = Certificate.PrivateKey(serverKey)
        let names: [GeneralName] = hostnames.map { host in
            if let address = Self.ipAddressBytes(host) {
                return .ipAddress(ASN1OctetString(contentBytes: address[...]))
            }
            return .dnsName(host)
        }
        let server = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: serverPrivateKey.publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(30 * 24 * 3600),
            issuer: caName,
            subject: try X509.DistinguishedName {
                OrganizationName("Printplane")
                CommonName(hostnames.first ?? "localhost")
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
                AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: caPrivateKey.publicKey).keyIdentifier)
            },
            issuerPrivateKey: caPrivateKey
        )
        self.caCertificatePEM = try ca.serializeAsPEM().pemString
        self.serverCertificatePEM = try server.serializeAsPEM().pemString
        self.serverPrivateKeyPEM = serverKey.pemRepresentation
    }

    /// A server TLS configuration presenting the server certificate.
    public func serverTLSConfiguration() throws -> TLSConfiguration {
        try Self.serverTLSConfiguration(certificateChainPEM: self.serverCertificatePEM, privateKeyPEM: self.serverPrivateKeyPEM)
    }

    /// A server TLS configuration from PEM text (certificate chain, then key).
    public static func serverTLSConfiguration(certificateChainPEM: String, privateKeyPEM: String) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificateChainPEM.utf8))
        guard !chain.isEmpty else { throw SimulatedADError.certificate("no certificate in the chain file") }
        let key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    }

    /// A client TLS configuration that trusts only this CA (for tests and the simulator).
    public func clientTLSConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(self.caCertificatePEM.utf8)))
        return configuration
    }

    static func ipAddressBytes(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
