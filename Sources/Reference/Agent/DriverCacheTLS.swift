import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import PrintplaneCore
import SwiftASN1
import X509

/// The cache's TLS identity. Agents trust only the control plane's CA (`ca.pem`), so the
/// cache sends the cloud a certificate signing request for its registered host and serves
/// the leaf the CA signs: no manual step, and the private key (P-256, `tls/key.pem`, 0600)
/// never leaves this machine. Renewed when a third of its life is left; a renewed certificate
/// is used by the next handshake without restarting the listener (NIOSSL's context callback).
///
/// With `--tls-cert` and `--tls-key` the given files are served instead and never renewed.
final class DriverCacheTLS: Sendable {
    /// The certificate and key served now.
    struct Material: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
        var notBefore: Date
        var notAfter: Date
        /// The names and addresses the leaf covers (DNS names lowercased).
        var names: Set<String>
    }

    let configuration: DriverCacheConfiguration
    let logger: Logger
    private let material = NIOLockedValueBox<Material?>(nil)

    init(configuration: DriverCacheConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    var current: Material? { self.material.withLockedValue { $0 } }
    var isGiven: Bool { self.configuration.tlsCertificatePath != nil }

    /// Loads the given certificate and key (`--tls-cert`, `--tls-key`).
    func loadGiven() throws {
        guard let certificatePath = self.configuration.tlsCertificatePath, let keyPath = self.configuration.tlsKeyPath else {
            throw DriverCacheError.configuration("--tls-cert and --tls-key must be given together")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
            guard let leaf = chain.first else { throw DriverCacheError.configuration("\(certificatePath) holds no certificate") }
            let certificate = try Certificate(derEncoded: try leaf.toDERBytes())
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            self.material.withLockedValue {
                $0 = Material(chain: chain, key: key, notBefore: certificate.notValidBefore, notAfter: certificate.notValidAfter, names: Self.names(of: certificate))
            }
        } catch let error as DriverCacheError {
            throw error
        } catch {
            throw DriverCacheError.configuration("cannot read --tls-cert \(certificatePath) / --tls-key \(keyPath): \(error)")
        }
    }

    /// Loads the certificate the CA signed last time, if it is still for our key.
    func loadStored() {
        guard let pem = try? String(contentsOfFile: self.configuration.tlsCertificateFile, encoding: .utf8), let key = try? self.privateKey() else { return }
        do {
            try self.install(certificatePEM: pem, key: key, save: false)
        } catch {
            self.logger.warning("the stored cache certificate is unusable; asking for a new one", metadata: ["printplane.error": "\(error)"])
        }
    }

    /// The cache's key, created on first use.
    func privateKey() throws -> P256.Signing.PrivateKey {
        let path = self.configuration.tlsKeyFile
        if let pem = try? String(contentsOfFile: path, encoding: .utf8) {
            do {
                return try P256.Signing.PrivateKey(pemRepresentation: pem)
            } catch {
                throw DriverCacheError.configuration("\(path) is not a P-256 private key in PEM: \(error); remove it and a new one is made")
            }
        }
        try FileManager.default.createDirectory(atPath: self.configuration.tlsDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = P256.Signing.PrivateKey()
        try AtomicFile.write(Data(key.pemRepresentation.utf8), to: path, mode: 0o600)
        return key
    }

    /// A PKCS #10 request (RFC 2986) for `names` (DNS names or IP addresses), signed by our key.
    func signingRequest(names: [String]) throws -> String {
        let key = try self.privateKey()
        var general = [GeneralName]()
        for name in names {
            if let address = IPAddress(name) {
                general.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address.bytes))))
            } else {
                general.append(.dnsName(name.lowercased()))
            }
        }
        let subject = try DistinguishedName {
            OrganizationName("Printplane")
            CommonName(names.first ?? "printplane-cache")
        }
        let extensions = try Certificate.Extensions { SubjectAlternativeNames(general) }
        let request = try CertificateSigningRequest(
            version: .v1, subject: subject, privateKey: Certificate.PrivateKey(key),
            attributes: CertificateSigningRequest.Attributes([.init(ExtensionRequest(extensions: extensions))]))
        return try request.serializeAsPEM().pemString
    }

    /// Checks a signed certificate is for our key, saves it and serves it from the next handshake.
    func install(certificatePEM: String) throws {
        try self.install(certificatePEM: certificatePEM, key: try self.privateKey(), save: true)
    }

    private func install(certificatePEM: String, key: P256.Signing.PrivateKey, save: Bool) throws {
        let certificate = try Certificate(pemEncoded: certificatePEM)
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw DriverCacheError.certificate("the certificate is not for this cache's key")
        }
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
        let sslKey = try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)
        if save { try AtomicFile.write(Data(certificatePEM.utf8), to: self.configuration.tlsCertificateFile, mode: 0o644) }
        self.material.withLockedValue {
            $0 = Material(chain: chain, key: sslKey, notBefore: certificate.notValidBefore, notAfter: certificate.notValidAfter, names: Self.names(of: certificate))
        }
    }

    /// Whether a new certificate is needed: none, not for `names`, expired, or past two thirds of its life.
    func needsRenewal(names: [String], now: Date = Date()) -> Bool {
        guard !self.isGiven else { return false }
        guard let current = self.current else { return true }
        let wanted = Set(names.map { IPAddress($0)?.description ?? $0.lowercased() })
        guard wanted.isSubset(of: current.names) else { return true }
        let life = current.notAfter.timeIntervalSince(current.notBefore)
        return now >= current.notBefore.addingTimeInterval(life * 2 / 3)
    }

    /// Whether the served certificate has expired (a cache past it serves nothing agents would accept).
    func hasExpired(now: Date = Date()) -> Bool {
        guard let current = self.current else { return true }
        return now >= current.notAfter
    }

    /// The server configuration: TLS 1.2 or later, and whatever certificate is current at
    /// each handshake.
    func serverConfiguration() throws -> TLSConfiguration {
        guard let initial = self.current else { throw DriverCacheError.certificate("no certificate loaded") }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: initial.chain.map { .certificate($0) }, privateKey: .privateKey(initial.key))
        tls.minimumTLSVersion = .tlsv12
        let material = self.material
        tls.sslContextCallback = { _, promise in
            var change = NIOSSLContextConfigurationOverride()
            if let now = material.withLockedValue({ $0 }) {
                change.certificateChain = now.chain.map { .certificate($0) }
                change.privateKey = .privateKey(now.key)
            }
            promise.succeed(change)
        }
        return tls
    }

    static func names(of certificate: Certificate) -> Set<String> {
        var names = Set<String>()
        for name in (try? certificate.extensions.subjectAlternativeNames) ?? SubjectAlternativeNames() {
            switch name {
            case .dnsName(let value): names.insert(value.lowercased())
            case .ipAddress(let bytes): if let address = IPAddress(bytes: Array(bytes.bytes)) { names.insert(address.description) }
            default: break
            }
        }
        return names
    }
}
