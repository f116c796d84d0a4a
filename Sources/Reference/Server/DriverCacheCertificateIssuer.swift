import Crypto
import Foundation
import PrintplaneCore
import SwiftASN1
import X509

/// Signs LAN driver caches' TLS certificates with the server's local CA, so agents, which
/// trust only that CA (`ca.pem`), trust a cache with no manual step.
///
/// The policy, because agents trust anything this CA signs:
/// - only a registered cache asks (checked by the caller), and only for the host of the URL
///   it is registered under; a request naming anything else is refused;
/// - never for a name or address the server's own certificate covers, so a cache can never
///   pose as the cloud (agents send their device credential only to the server's URL);
/// - proof of possession: the request must be signed by the key it carries (RFC 2986 §3),
///   an ECDSA P-256 or P-384 key; the cache's private key never leaves it;
/// - a leaf (`CA:FALSE`), `serverAuth` only, valid for ``days`` (the cache renews it).
struct DriverCacheCertificateIssuer: Sendable {
    let identity: ServerIdentity
    /// Validity of an issued certificate.
    let days: Int

    /// The certificate for `cache`, signed over the key in `csrPEM`.
    func issue(csrPEM: String, for cache: DriverCacheRecord, now: Date) throws -> Certificate {
        guard let authority = try self.identity.certificateAuthority() else { throw ServerError.caUnavailable }
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(pemEncoded: csrPEM)
        } catch {
            throw ServerError.invalidCSR("The body's csr is not a PEM certificate signing request (PKCS #10): \(error)")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw ServerError.invalidCSR("The certificate signing request is not signed by the key it carries.")
        }
        guard P256.Signing.PublicKey(csr.publicKey) != nil || P384.Signing.PublicKey(csr.publicKey) != nil else {
            throw ServerError.invalidCSR("The certificate signing request must carry an ECDSA P-256 or P-384 key.")
        }
        guard let registered = DriverCacheURL.parse(cache.url) else {
            throw ServerError.invalidField("the cache's registered URL \(cache.url) is not https://host:port")
        }
        // What the request asks for: its subjectAltName extension request, if any.
        var requestedDNS = [String]()
        var requestedAddresses = [IPAddress]()
        let requested: SubjectAlternativeNames?
        do {
            requested = try csr.attributes.extensionRequest?.extensions.subjectAlternativeNames
        } catch {
            throw ServerError.invalidCSR("The certificate signing request's extension request cannot be read: \(error)")
        }
        for name in requested ?? SubjectAlternativeNames() {
            switch name {
            case .dnsName(let value): requestedDNS.append(value.lowercased())
            case .ipAddress(let bytes):
                guard let address = IPAddress(bytes: Array(bytes.bytes)) else { throw ServerError.invalidCSR("An IP address in the request is neither IPv4 nor IPv6.") }
                requestedAddresses.append(address)
            default:
                throw ServerError.certificateNameRefused("Only DNS names and IP addresses can be certified, and only the cache's registered host \(registered.host).")
            }
        }
        if requestedDNS.isEmpty && requestedAddresses.isEmpty {
            if let address = registered.address { requestedAddresses = [address] } else { requestedDNS = [registered.host] }
        }
        let refused = requestedDNS.filter { $0 != registered.host } + requestedAddresses.filter { $0 != registered.address }.map(\.description)
        guard refused.isEmpty else {
            throw ServerError.certificateNameRefused(
                "The cache \(cache.name) is registered as \(cache.url); it cannot be certified for \(refused.joined(separator: ", ")). Change its URL with `printplane cache update` if it moved.")
        }
        let own = try self.identity.serverCertificateNames()
        let clash = requestedDNS.filter { own.dnsNames.contains($0) } + requestedAddresses.filter { own.addresses.contains($0) }.map(\.description)
        guard clash.isEmpty else {
            throw ServerError.certificateNameRefused(
                "\(clash.joined(separator: ", ")) is a name of this server's own certificate; a cache must be reached under a name of its own, or it could pose as the server.")
        }
        return try authority.issueServerCertificate(
            for: csr.publicKey, dnsNames: Array(Set(requestedDNS)).sorted(), ipAddresses: Array(Set(requestedAddresses)).sorted { $0.description < $1.description },
            now: now, days: self.days)
    }
}
