import Foundation
import NIOSSL
import PrintplaneCore

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

    /// Generates a P-256 CA and a server certificate for `hostnames`, valid for 30 days, with
    /// the control plane's `CertificateAuthority` (one CA generator for the whole project).
    public init(hostnames: [String], commonName: String = "Printplane simulated AD") throws {
        let authority = try CertificateAuthority.generate(commonName: "\(commonName) CA")
        var dnsNames: [String] = []
        var addresses: [IPAddress] = []
        for host in hostnames {
            if let address = IPAddress(host) { addresses.append(address) } else { dnsNames.append(host) }
        }
        let issued = try authority.issueServerCertificate(dnsNames: dnsNames, ipAddresses: addresses, days: 30)
        self.caCertificatePEM = try authority.certificatePEM
        self.serverCertificatePEM = try issued.certificatePEM
        self.serverPrivateKeyPEM = issued.privateKeyPEM
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
}
