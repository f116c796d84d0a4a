import Foundation
import LDAP
import NIOSSL
import PrintplaneCore

/// Which dialect the directory speaks, which decides how groups are resolved.
public enum DirectoryFlavour: String, Codable, Sendable, CaseIterable {
    /// Read the RootDSE: a server advertising capability 1.2.840.113556.1.4.800 is AD.
    case auto
    /// Active Directory: accounts by sAMAccountName/UPN, nested groups in one in-chain (1941) search.
    case activeDirectory = "active_directory"
    /// Any other LDAPv3 server (OpenLDAP, 389-DS): accounts by `uid`, groups expanded recursively
    /// over `member`/`uniqueMember`.
    case generic

    /// The capability an AD domain controller lists in `supportedCapabilities` (LDAP_CAP_ACTIVE_DIRECTORY_OID).
    public static let activeDirectoryCapability = "1.2.840.113556.1.4.800"
}

/// `ldap://HOST[:PORT]` or `ldaps://HOST[:PORT]` (RFC 4516 without DN or query parts).
public struct DirectoryURL: Sendable, Hashable, CustomStringConvertible {
    /// TLS from the first byte.
    public var isLDAPS: Bool
    public var host: String
    public var port: Int

    /// Parses the URL, or says what is wrong with it.
    public init(parsing text: String) throws {
        let example = "ldaps://dc01.corp.example.com:636 or ldap://10.0.0.5:389"
        let lower = text.lowercased()
        let rest: Substring
        if lower.hasPrefix("ldaps://") {
            self.isLDAPS = true
            rest = text.dropFirst("ldaps://".count)
        } else if lower.hasPrefix("ldap://") {
            self.isLDAPS = false
            rest = text.dropFirst("ldap://".count)
        } else {
            throw DirectoryError.invalidSettings("url must start with ldap:// or ldaps://, e.g. \(example)")
        }
        var authority = rest
        if authority.hasSuffix("/") { authority = authority.dropLast() }
        guard !authority.isEmpty, !authority.contains("/"), !authority.contains("?"), !authority.contains("@"),
              !authority.contains(where: { $0.isWhitespace }), authority.utf8.count <= 300
        else {
            throw DirectoryError.invalidSettings("url must be ldap://HOST[:PORT] or ldaps://HOST[:PORT] with nothing after the port, e.g. \(example)")
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw DirectoryError.invalidSettings("url has an unterminated IPv6 address; write ldap://[::1]:389")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw DirectoryError.invalidSettings("url: expected ':PORT' after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw DirectoryError.invalidSettings("url needs a host, e.g. \(example)") }
        if let portText {
            guard !portText.isEmpty, portText.utf8.count <= 5, portText.allSatisfy(\.isASCII), let port = Int(portText), (1...65535).contains(port) else {
                throw DirectoryError.invalidSettings("url port must be a number from 1 to 65535")
            }
            self.port = port
        } else {
            self.port = self.isLDAPS ? 636 : 389
        }
        self.host = String(host)
    }

    public var description: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "\(self.isLDAPS ? "ldaps" : "ldap")://\(host):\(self.port)"
    }

    /// `host:port`, for messages.
    var endpoint: String { self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)" }
}

/// The directory settings in force, with the bind password in clear (in memory only).
///
/// Built from what the admin PUTs, or from the stored row after decrypting the password. Its
/// `description` and mirror leave the password out, so logging the value cannot leak it.
public struct DirectorySettings: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    public var url: DirectoryURL
    /// Upgrade a plain `ldap://` connection with StartTLS before binding.
    public var startTLS: Bool
    /// The CA to trust for the directory's certificate; nil trusts the system roots.
    public var caPEM: String?
    /// Where searches start.
    public var baseDN: DistinguishedName
    /// The service account: a DN, or on AD also `DOMAIN\user` or a UPN.
    public var bindDN: String
    public var bindPassword: String
    public var flavour: DirectoryFlavour
    /// How long resolved memberships are reused.
    public var cacheTTLSeconds: Int
    /// Members (nested included) of this group are console admins.
    public var adminGroupDN: DistinguishedName?
    /// TCP connect timeout.
    public var connectTimeout: Duration = .seconds(5)
    /// The longest one LDAP operation (bind, one page of a search) may take.
    public var operationTimeout: Duration = .seconds(10)

    /// The default membership cache TTL: 10 minutes.
    public static let defaultCacheTTLSeconds = 600
    /// The TTLs an admin may choose.
    public static let cacheTTLRange = 10...86_400

    public init(
        url: DirectoryURL, startTLS: Bool = false, caPEM: String? = nil, baseDN: DistinguishedName, bindDN: String, bindPassword: String,
        flavour: DirectoryFlavour = .auto, cacheTTLSeconds: Int = DirectorySettings.defaultCacheTTLSeconds, adminGroupDN: DistinguishedName? = nil
    ) {
        self.url = url
        self.startTLS = startTLS
        self.caPEM = caPEM
        self.baseDN = baseDN
        self.bindDN = bindDN
        self.bindPassword = bindPassword
        self.flavour = flavour
        self.cacheTTLSeconds = cacheTTLSeconds
        self.adminGroupDN = adminGroupDN
    }

    /// Whether the connection is encrypted (LDAPS or StartTLS).
    public var usesTLS: Bool { self.url.isLDAPS || self.startTLS }

    /// The transport as the settings test reports it.
    public var transportName: String { self.url.isLDAPS ? "ldaps" : (self.startTLS ? "starttls" : "plain") }

    /// Every problem with the settings, for a 400 answer; empty when they are usable.
    public var validationProblems: [String] {
        var problems = [String]()
        if self.url.isLDAPS && self.startTLS {
            problems.append("start_tls is for ldap:// URLs; an ldaps:// connection is TLS from the first byte")
        }
        if let problem = self.baseDN.validationProblem { problems.append("base_dn: \(problem)") }
        if let problem = Self.bindNameProblem(self.bindDN) { problems.append("bind_dn: \(problem)") }
        if self.bindPassword.isEmpty {
            problems.append("bind_password must not be empty (an empty simple bind is an unauthenticated bind)")
        } else if self.bindPassword.utf8.count > 1024 {
            problems.append("bind_password must be at most 1024 bytes")
        }
        if !Self.cacheTTLRange.contains(self.cacheTTLSeconds) {
            problems.append("cache_ttl_seconds must be between \(Self.cacheTTLRange.lowerBound) and \(Self.cacheTTLRange.upperBound)")
        }
        if let group = self.adminGroupDN, let problem = group.validationProblem { problems.append("admin_group_dn: \(problem)") }
        if let pem = self.caPEM {
            if (try? Self.certificates(pem))?.isEmpty ?? true {
                problems.append("ca_pem must hold at least one PEM certificate (-----BEGIN CERTIFICATE-----)")
            }
        }
        return problems
    }

    /// A warning worth showing the admin even though the settings are accepted.
    public var warnings: [String] {
        self.usesTLS ? [] : ["the service account's password and every lookup cross the network in clear: use ldaps:// or start_tls"]
    }

    /// A bind name is a DN, a UPN (`svc@corp.example.com`) or a down-level name (`CORP\svc`).
    static func bindNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "the service account name must not be empty" }
        if name.utf8.count > 1024 { return "must be at most 1024 bytes" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "must not contain control characters" }
        if name.contains("=") && !name.contains("\\") && !name.contains("@") {
            do {
                return try DistinguishedName(name).validationProblem
            } catch {
                return "\(error)"
            }
        }
        return nil
    }

    static func certificates(_ pem: String) throws -> [NIOSSLCertificate] {
        try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))
    }

    /// The LDAP client settings: TLS 1.2+, trusting only ``caPEM`` when given (else the
    /// system roots), with the host in the URL checked against the certificate.
    func clientConfiguration() throws -> LDAPClientConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if let pem = self.caPEM {
            tls.trustRoots = .certificates(try Self.certificates(pem))
        }
        let transport: LDAPClientConfiguration.Transport = self.url.isLDAPS ? .ldaps : (self.startTLS ? .startTLS : .plain)
        return LDAPClientConfiguration(
            host: self.url.host, port: self.url.port, transport: transport, tls: tls,
            connectTimeout: self.connectTimeout, operationTimeout: self.operationTimeout)
    }

    public var description: String {
        "DirectorySettings(url: \(self.url), start_tls: \(self.startTLS), base_dn: \(self.baseDN), bind_dn: \(self.bindDN), bind_password: <redacted>, "
            + "flavour: \(self.flavour.rawValue), cache_ttl_seconds: \(self.cacheTTLSeconds), admin_group_dn: \(self.adminGroupDN.map(\.description) ?? "-"))"
    }

    public var customMirror: Mirror {
        Mirror(self, children: [
            "url": self.url, "startTLS": self.startTLS, "baseDN": self.baseDN, "bindDN": self.bindDN, "bindPassword": "<redacted>",
            "flavour": self.flavour, "cacheTTLSeconds": self.cacheTTLSeconds, "adminGroupDN": self.adminGroupDN as Any,
        ])
    }
}
