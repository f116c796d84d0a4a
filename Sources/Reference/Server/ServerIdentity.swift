import Crypto
import Foundation
import Logging
import NIOSSL
import PrintplaneCore
import X509

/// The server's secrets in its data directory, created on first start.
///
/// | File | Mode | What |
/// |---|---|---|
/// | `ca.pem` / `ca-key.pem` | 0644 / 0600 | the local CA agents and the CLI trust |
/// | `server.pem` / `server-key.pem` | 0644 / 0600 | the TLS leaf, SANs from `--listen` |
/// | `driver-signing.key` | 0600 | Ed25519 key that signs driver manifests |
/// | `admin.key` | 0600 | the admin API key (the server keeps only its SHA-256 in memory) |
public struct ServerIdentity: Sendable {
    public let caCertificatePath: String
    public let certificatePath: String
    public let keyPath: String
    public let driverSigningKey: Curve25519.Signing.PrivateKey
    public let adminKeyPath: String
    /// SHA-256 of the admin key, compared in constant time.
    let adminKeyHash: [UInt8]
    /// The CA fingerprint, when the CA was generated here.
    public let caFingerprint: String?
    /// The CA's private key, when the CA was generated here (`nil` with `--tls-cert`): what
    /// signs LAN driver caches' certificates.
    public let caKeyPath: String?

    /// Loads the identity from `configuration.dataDirectory`, creating what is missing.
    public static func loadOrCreate(configuration: ServerConfiguration, logger: Logger) throws -> ServerIdentity {
        let fm = FileManager.default
        let dir = configuration.dataDirectory
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

        let caPath = path("ca.pem"), caKeyPath = path("ca-key.pem")
        var certificatePath = path("server.pem"), keyPath = path("server-key.pem")
        var fingerprint: String?

        if let givenCert = configuration.tlsCertificatePath, let givenKey = configuration.tlsKeyPath {
            certificatePath = givenCert
            keyPath = givenKey
            logger.info("using the given TLS certificate", metadata: ["printplane.tls.cert": "\(givenCert)", "printplane.tls.key": "\(givenKey)"])
        } else if configuration.tlsCertificatePath != nil || configuration.tlsKeyPath != nil {
            throw ServerError.invalidConfiguration("--tls-cert and --tls-key must be given together")
        } else {
            let ca: CertificateAuthority
            if fm.fileExists(atPath: caPath) {
                ca = try CertificateAuthority(certificatePEM: String(contentsOfFile: caPath, encoding: .utf8), privateKeyPEM: String(contentsOfFile: caKeyPath, encoding: .utf8))
            } else {
                ca = try CertificateAuthority.generate()
                try write(ca.privateKeyPEM, to: caKeyPath, mode: 0o600)
                try write(ca.certificatePEM, to: caPath, mode: 0o644)
                logger.notice("created a CA", metadata: ["printplane.ca.path": "\(caPath)"])
            }
            fingerprint = try ca.fingerprintSHA256
            let covered = fm.fileExists(atPath: certificatePath) ? try certificateCovers(path: certificatePath, host: configuration.host) : false
            if !covered {
                var dnsNames = ["localhost"] + configuration.additionalDNSNames
                var addresses = [IPAddress("127.0.0.1")!, IPAddress("::1")!]
                if let address = IPAddress(configuration.host) {
                    if !addresses.contains(address) { addresses.append(address) }
                } else if !dnsNames.contains(configuration.host) {
                    dnsNames.append(configuration.host)
                }
                let leaf = try ca.issueServerCertificate(dnsNames: dnsNames, ipAddresses: addresses)
                try write(leaf.privateKeyPEM, to: keyPath, mode: 0o600)
                try write(leaf.certificatePEM, to: certificatePath, mode: 0o644)
                logger.notice("issued a server certificate", metadata: [
                    "printplane.tls.cert": "\(certificatePath)", "printplane.tls.dns": "\(dnsNames)", "printplane.tls.ip": "\(addresses)",
                ])
            }
            logger.notice("CA certificate for agents and the CLI", metadata: ["printplane.ca.path": "\(caPath)", "printplane.ca.sha256": "\(fingerprint ?? "")"])
        }

        let signingPath = path("driver-signing.key")
        let signingKey: Curve25519.Signing.PrivateKey
        if fm.fileExists(atPath: signingPath) {
            let text = try String(contentsOfFile: signingPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let raw = Data(base64Encoded: text) else { throw ServerError.invalidConfiguration("\(signingPath) is not a base64 Ed25519 key") }
            signingKey = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        } else {
            signingKey = Curve25519.Signing.PrivateKey()
            try write(signingKey.rawRepresentation.base64EncodedString() + "\n", to: signingPath, mode: 0o600)
            logger.notice("created the driver-signing key", metadata: ["printplane.driver_key.path": "\(signingPath)"])
        }
        logger.info("driver-signing public key", metadata: ["printplane.driver_key.public": "\(signingKey.publicKey.base64)"])

        let adminPath = path("admin.key")
        let adminKey: String
        if fm.fileExists(atPath: adminPath) {
            adminKey = try String(contentsOfFile: adminPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            adminKey = SecretToken.generate(.admin).value
            try write(adminKey + "\n", to: adminPath, mode: 0o600)
            logger.notice("created the admin API key", metadata: ["printplane.admin_key.path": "\(adminPath)"])
        }
        try fm.createDirectory(atPath: path("drivers"), withIntermediateDirectories: true)
        return ServerIdentity(
            caCertificatePath: caPath, certificatePath: certificatePath, keyPath: keyPath, driverSigningKey: signingKey,
            adminKeyPath: adminPath, adminKeyHash: Array(SHA256.hash(data: Array(adminKey.utf8))), caFingerprint: fingerprint,
            caKeyPath: fingerprint == nil ? nil : caKeyPath)
    }

    /// The TLS configuration: TLS 1.2 or later only.
    func tlsConfiguration() throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(self.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: self.keyPath, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        return tls
    }

    /// The local CA, read from the data directory; `nil` when the server runs with a given
    /// certificate (`--tls-cert`), whose issuer it does not hold.
    func certificateAuthority() throws -> CertificateAuthority? {
        guard let caKeyPath = self.caKeyPath else { return nil }
        return try CertificateAuthority(
            certificatePEM: String(contentsOfFile: self.caCertificatePath, encoding: .utf8), privateKeyPEM: String(contentsOfFile: caKeyPath, encoding: .utf8))
    }

    /// The DNS names (lowercased) and IP addresses the server's own certificate covers: a LAN
    /// cache is never given a certificate for any of them, so it can never pose as the server.
    func serverCertificateNames() throws -> (dnsNames: Set<String>, addresses: Set<IPAddress>) {
        let chain = try String(contentsOfFile: self.certificatePath, encoding: .utf8)
        let certificate = try Certificate(pemEncoded: chain)
        var dnsNames = Set<String>()
        var addresses = Set<IPAddress>()
        for name in try certificate.extensions.subjectAlternativeNames ?? SubjectAlternativeNames() {
            switch name {
            case .dnsName(let value): dnsNames.insert(value.lowercased())
            case .ipAddress(let bytes): if let address = IPAddress(bytes: Array(bytes.bytes)) { addresses.insert(address) }
            default: break
            }
        }
        return (dnsNames, addresses)
    }

    /// Whether `presented` is the admin key.
    func isAdminKey(_ presented: String) -> Bool {
        SecretToken.constantTimeEquals(Array(SHA256.hash(data: Array(presented.utf8))), self.adminKeyHash)
    }

    private static func certificateCovers(path: String, host: String) throws -> Bool {
        let certificate = try Certificate(pemEncoded: String(contentsOfFile: path, encoding: .utf8))
        guard let names = try certificate.extensions.subjectAlternativeNames else { return false }
        if let address = IPAddress(host) {
            return names.contains { if case .ipAddress(let bytes) = $0 { return Array(bytes.bytes) == address.bytes } else { return false } }
        }
        return names.contains { if case .dnsName(let name) = $0 { return name == host } else { return false } }
    }

    private static func write(_ text: String, to path: String, mode: Int) throws {
        let fm = FileManager.default
        let temporary = path + ".tmp"
        guard fm.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw ServerError.invalidConfiguration("cannot write \(temporary)")
        }
        _ = try? fm.removeItem(atPath: path)
        try fm.moveItem(atPath: temporary, toPath: path)
    }
}
