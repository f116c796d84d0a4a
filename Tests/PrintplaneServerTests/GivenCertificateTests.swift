import AsyncHTTPClient
import Foundation
import PrintplaneCore
import Testing

@testable import PrintplaneServer

@Suite("Given TLS certificate")
struct GivenCertificateTests {
    @Test("--tls-cert and --tls-key serve a certificate from another CA; no CA is generated")
    func givenCertificate() async throws {
        let directory = temporaryDirectory()
        let ca = try CertificateAuthority.generate(commonName: "Corporate CA")
        let leaf = try ca.issueServerCertificate(dnsNames: ["localhost"], ipAddresses: [IPAddress("127.0.0.1")!])
        try leaf.certificatePEM.write(toFile: directory + "/given.pem", atomically: true, encoding: .utf8)
        try leaf.privateKeyPEM.write(toFile: directory + "/given-key.pem", atomically: true, encoding: .utf8)
        let corporateCA = try ca.certificatePEM
        try await withTestServer(dataDirectory: directory + "/data", trustPEM: corporateCA, configure: {
            $0.tlsCertificatePath = directory + "/given.pem"
            $0.tlsKeyPath = directory + "/given-key.pem"
        }) { server in
            #expect(!FileManager.default.fileExists(atPath: server.dataDirectory + "/ca.pem"))
            #expect(try await server.request(.GET, "/healthz").status == 200)
            // A client trusting only some other CA is refused.
            let stranger = try makeClient(caPEM: try CertificateAuthority.generate().certificatePEM)
            await #expect(throws: (any Error).self) {
                _ = try await stranger.execute(HTTPClientRequest(url: server.baseURL + "/healthz"), timeout: .seconds(3))
            }
            try await stranger.shutdown()
        }
    }
}
