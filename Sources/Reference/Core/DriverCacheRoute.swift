import Foundation

extension IdentifierKind {
    /// A LAN driver cache an admin registered.
    public enum DriverCache {}
}

/// A registered LAN driver cache's ID.
public typealias DriverCacheID = Identifier<IdentifierKind.DriverCache>

/// A LAN driver cache as check-in planning sees it: where agents reach it, and which agents
/// should (DESIGN.md §3, "sources in order of preference: LAN cache first, then cloud").
///
/// An agent uses a cache for a printer when one of the agent's reported addresses lies in
/// one of ``ranges``, or when the printer's site is one of ``sites``. The rules are pure
/// functions (``DriverCacheRouting``), like the targeting rules.
public struct DriverCacheRoute: Codable, Sendable, Hashable {
    public var id: DriverCacheID
    public var name: String
    /// `https://host[:port]`, no path: agents fetch `url/drivers/<sha256>`.
    public var url: String
    public var ranges: [IPRange]
    public var sites: [String]

    public init(id: DriverCacheID, name: String, url: String, ranges: [IPRange], sites: [String]) {
        self.id = id
        self.name = name
        self.url = url
        self.ranges = ranges
        self.sites = sites
    }

    /// Where agents fetch a package from this cache.
    public func source(sha256: String) -> String { "\(self.url)/drivers/\(sha256)" }
}

/// The host and port of a cache URL, as ``parse(_:)`` reads `https://host[:port]`.
public struct DriverCacheURL: Sendable, Hashable, CustomStringConvertible {
    /// A lowercase DNS name, or an IP address in its canonical text.
    public var host: String
    public var port: Int
    /// The host as an IP address, when it is one.
    public var address: IPAddress? { IPAddress(self.host) }

    /// `https://host:port`, brackets around IPv6: the form stored and put into plans.
    public var description: String {
        let shown = self.address.map { $0.isIPv4 ? $0.description : "[\($0)]" } ?? self.host
        return "https://\(shown):\(self.port)"
    }

    /// Reads `https://host[:port][/]`: a DNS name (RFC 1123 labels), a dotted IPv4 address or a
    /// bracketed IPv6 address; no user, path, query or fragment. `nil` with anything else,
    /// so what is stored can be pasted into a plan and into a certificate as it is.
    public static func parse(_ text: String) -> DriverCacheURL? {
        guard text.utf8.count <= 300, text.lowercased().hasPrefix("https://") else { return nil }
        var rest = Substring(text.dropFirst(8))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains(where: { "/?#@ \t\\".contains($0) }) else { return nil }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
            guard let address = IPAddress(host), !address.isIPv4 else { return nil }
            host = Substring(address.description)
        } else {
            let parts = rest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = parts[0]
            if parts.count == 2 { portText = parts[1] }
            if let address = IPAddress(host) {
                guard address.isIPv4 else { return nil }
                host = Substring(address.description)
            } else {
                guard Self.isDNSName(host) else { return nil }
                host = Substring(host.lowercased())
            }
        }
        var port = 443
        if let portText {
            guard !portText.isEmpty, portText.utf8.count <= 5, portText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let parsed = Int(portText), (1...65535).contains(parsed)
            else { return nil }
            port = parsed
        }
        return DriverCacheURL(host: String(host), port: port)
    }

    /// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens,
    /// 1-63 characters each, 253 in all, not all digits (that would be an IPv4 look-alike).
    public static func isDNSName(_ text: some StringProtocol) -> Bool {
        guard (1...253).contains(text.utf8.count) else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !labels.contains(where: \.isEmpty) else { return false }
        for label in labels {
            guard label.utf8.count <= 63, label.first != "-", label.last != "-",
                  label.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 })
            else { return false }
        }
        return !text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || $0 == 46 }
    }
}

/// Which LAN caches an agent should try, as pure functions the planner and tests share.
public enum DriverCacheRouting {
    /// The most caches put before the cloud in one driver's sources.
    public static let maximumCachesPerDriver = 3

    /// The caches an agent at `addresses` should try for a printer at `printerSite`, best
    /// first: caches whose range holds one of the addresses (the longest prefix first), then
    /// caches that serve the printer's site; ties by name, then ID. At most `limit`.
    public static func caches(
        _ caches: [DriverCacheRoute], addresses: [IPAddress], printerSite: String?, limit: Int = maximumCachesPerDriver
    ) -> [DriverCacheRoute] {
        var ranked = [(cache: DriverCacheRoute, rank: Int)]()
        for cache in caches {
            var best = -1
            for range in cache.ranges where addresses.contains(where: { range.contains($0) }) {
                best = max(best, 1000 + range.prefixLength)
            }
            if best < 0, let site = printerSite, cache.sites.contains(where: { $0.caseInsensitiveCompare(site) == .orderedSame }) {
                best = 0
            }
            if best >= 0 { ranked.append((cache, best)) }
        }
        ranked.sort { lhs, rhs in
            if lhs.rank != rhs.rank { return lhs.rank > rhs.rank }
            if lhs.cache.name != rhs.cache.name { return lhs.cache.name < rhs.cache.name }
            return lhs.cache.id < rhs.cache.id
        }
        return ranked.prefix(max(0, limit)).map(\.cache)
    }

    /// A driver's sources for that agent and printer: the matching caches' URLs, then the
    /// cloud's relative path, which every plan ends with.
    public static func sources(sha256: String, caches: [DriverCacheRoute], addresses: [IPAddress], printerSite: String?) -> [String] {
        self.caches(caches, addresses: addresses, printerSite: printerSite).map { $0.source(sha256: sha256) } + ["/api/v1/drivers/\(sha256)"]
    }
}

/// What `GET /api/v1/cache/manifests` answers a registered cache: its registration as the
/// cloud holds it and the signed manifest of every driver the cloud serves. The cache
/// serves nothing else, and checks each signature itself.
public struct DriverCacheManifests: Codable, Sendable, Hashable {
    public var cache: DriverCacheRoute
    public var manifests: [SignedDriverManifest]

    public init(cache: DriverCacheRoute, manifests: [SignedDriverManifest]) {
        self.cache = cache
        self.manifests = manifests
    }
}

/// `POST /api/v1/cache/certificate`: a PKCS #10 certificate signing request (RFC 2986), PEM.
public struct DriverCacheCertificateRequest: Codable, Sendable, Hashable {
    public var csr: String

    public init(csr: String) { self.csr = csr }
}

/// The answer: the leaf the control plane's CA signed for the cache's key, PEM.
public struct DriverCacheCertificate: Codable, Sendable, Hashable {
    public var certificate: String
    public var notAfter: Date

    public init(certificate: String, notAfter: Date) {
        self.certificate = certificate
        self.notAfter = notAfter
    }

    enum CodingKeys: String, CodingKey {
        case certificate
        case notAfter = "not_after"
    }
}
