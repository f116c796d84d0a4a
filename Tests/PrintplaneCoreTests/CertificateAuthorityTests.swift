import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import PrintplaneCore

@Suite("Certificate authority")
struct CertificateAuthorityTests {
    @Test("issues a server certificate signed by the CA with DNS and IP SANs")
    func issuesLeaf() async throws {
        let ca = try CertificateAuthority.generate()
        let leaf = try ca.issueServerCertificate(dnsNames: ["localhost", "print.example.com"], ipAddresses: [IPAddress("127.0.0.1")!, IPAddress("::1")!])
        #expect(ca.certificate.publicKey.isValidSignature(leaf.certificate.signature, for: leaf.certificate))
        #expect(leaf.certificate.issuer == ca.certificate.subject)
        let names = try #require(try leaf.certificate.extensions.subjectAlternativeNames)
        #expect(names.contains(.dnsName("print.example.com")))
        #expect(names.contains(.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))))
        #expect(try leaf.certificate.extensions.basicConstraints == .notCertificateAuthority)
        #expect(try ca.certificate.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))

        // The chain verifies with swift-certificates' own verifier, as a TLS client would.
        var verifier = Verifier(rootCertificates: CertificateStore([ca.certificate])) {
            RFC5280Policy()
            ServerIdentityPolicy(serverHostname: "print.example.com", serverIP: nil)
        }
        let result = await verifier.validate(leaf: leaf.certificate, intermediates: CertificateStore())
        guard case .validCertificate = result else {
            Issue.record("chain did not verify: \(result)")
            return
        }
    }

    @Test("PEM round-trip keeps the same CA and fingerprint")
    func pemRoundTrip() throws {
        let ca = try CertificateAuthority.generate()
        let reloaded = try CertificateAuthority(certificatePEM: try ca.certificatePEM, privateKeyPEM: ca.privateKeyPEM)
        #expect(reloaded.certificate == ca.certificate)
        #expect(try reloaded.fingerprintSHA256 == ca.fingerprintSHA256)
        #expect(try ca.fingerprintSHA256.split(separator: ":").count == 32)
    }
}
