import LDAP
import Logging
import PrintplaneCore

/// The read-only searches the server makes, per flavour (DESIGN.md §4).
///
/// Every value from outside (a user name, a host name, a search term, a DN) goes into a filter
/// as a structured assertion value, BER-encoded as an octet string, never spliced into RFC 4515
/// text. A name such as `*)(uid=*` is therefore compared literally and cannot widen a search;
/// where a filter is shown (logs), ``LDAPFilter/description`` escapes it as RFC 4515 §3 requires.
struct DirectoryQueries: Sendable {
    let baseDN: DistinguishedName
    /// `.activeDirectory` or `.generic` (never `.auto`: resolved before queries are made).
    let flavour: DirectoryFlavour
    let logger: Logger

    /// AD's MaxPageSize: no page is asked to be larger.
    static let pageSize = 1000
    /// The most groups one account resolves to; past this the answer is cut and logged.
    static let maximumGroups = 5000
    /// How deep recursive expansion (generic LDAP) follows nested groups.
    static let maximumDepth = 16
    /// DNs asked about in one OR filter during recursive expansion.
    static let dnsPerFilter = 32
    /// The longest account or host name looked up at all.
    static let maximumNameBytes = 256

    /// What the user-facing searches read about an account.
    static let accountAttributes = ["sAMAccountName", "userPrincipalName", "uid", "displayName", "cn", "mail", "userAccountControl"]

    /// How a logon name was written: `alice`, `CORP\alice` (down-level) or `alice@corp.example.com` (UPN).
    enum AccountName: Hashable, Sendable {
        case plain(String)
        case principal(String)

        init?(_ raw: String) {
            let text = raw.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty, text.utf8.count <= DirectoryQueries.maximumNameBytes,
                  !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            else { return nil }
            if let backslash = text.lastIndex(of: "\\") {
                let name = text[text.index(after: backslash)...]
                guard !name.isEmpty else { return nil }
                self = .plain(String(name))
            } else if text.contains("@") {
                self = .principal(text)
            } else {
                self = .plain(text)
            }
        }
    }

    // MARK: Filters

    private static func equals(_ attribute: String, _ value: String) -> LDAPFilter {
        .equality(attribute: attribute, value: Array(value.utf8))
    }

    func userFilter(_ name: AccountName) -> LDAPFilter {
        switch (self.flavour, name) {
        case (.generic, .plain(let uid)):
            return Self.equals("uid", uid)
        case (.generic, .principal(let text)):
            return .or([Self.equals("uid", text), Self.equals("mail", text)])
        case (_, .plain(let sam)):
            return .and([Self.equals("objectClass", "user"), .not(Self.equals("objectClass", "computer")), Self.equals("sAMAccountName", sam)])
        case (_, .principal(let upn)):
            return .and([Self.equals("objectClass", "user"), .not(Self.equals("objectClass", "computer")), Self.equals("userPrincipalName", upn)])
        }
    }

    /// Computer filters, most specific (and, on AD, indexed) first.
    func computerFilters(_ host: String) -> [LDAPFilter] {
        let short = String(host.split(separator: ".", maxSplits: 1).first ?? Substring(host))
        switch self.flavour {
        case .generic:
            let names = short == host ? [Self.equals("cn", short)] : [Self.equals("cn", short), Self.equals("cn", host)]
            let classes: LDAPFilter = .or([Self.equals("objectClass", "device"), Self.equals("objectClass", "computer"), Self.equals("objectClass", "ipHost")])
            return [.and([classes, names.count == 1 ? names[0] : .or(names)])]
        default:
            var fallback = [Self.equals("cn", short)]
            if short != host { fallback.append(Self.equals("dNSHostName", host)) }
            return [
                .and([Self.equals("objectClass", "computer"), Self.equals("sAMAccountName", short + "$")]),
                .and([Self.equals("objectClass", "computer"), fallback.count == 1 ? fallback[0] : .or(fallback)]),
            ]
        }
    }

    private var groupClasses: LDAPFilter {
        self.flavour == .generic
            ? .or([Self.equals("objectClass", "groupOfNames"), Self.equals("objectClass", "groupOfUniqueNames"), Self.equals("objectClass", "group")])
            : Self.equals("objectClass", "group")
    }

    // MARK: Accounts

    /// The one entry for a logon name, or nil when there is none or more than one (an
    /// ambiguous name must never pick an account).
    func findUser(_ raw: String, on connection: LDAPConnection, attributes: [String] = ["1.1"]) async throws -> SearchResultEntry? {
        guard let name = AccountName(raw) else { return nil }
        return try await self.findOne(self.userFilter(name), what: "user", on: connection, attributes: attributes)
    }

    /// The computer's entry by host name (AD: `sAMAccountName=HOST$`, then `cn`/`dNSHostName`; generic: `cn`).
    func findComputer(_ raw: String, on connection: LDAPConnection) async throws -> SearchResultEntry? {
        let host = raw.trimmingCharacters(in: .whitespaces)
        guard !host.isEmpty, host.utf8.count <= Self.maximumNameBytes, !host.contains("\\"),
              !host.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { return nil }
        for filter in self.computerFilters(host) {
            if let entry = try await self.findOne(filter, what: "computer", on: connection, attributes: ["1.1"]) { return entry }
        }
        return nil
    }

    private func findOne(_ filter: LDAPFilter, what: String, on connection: LDAPConnection, attributes: [String]) async throws -> SearchResultEntry? {
        let request = SearchRequest(baseObject: self.baseDN.description, scope: .wholeSubtree, sizeLimit: 2, filter: filter, attributes: attributes)
        let result = try await connection.search(request)
        guard result.entries.count <= 1 else {
            self.logger.warning("directory name matches more than one entry; ignoring it", metadata: [
                "printplane.directory.kind": "\(what)", "printplane.directory.filter": "\(filter)",
            ])
            return nil
        }
        return result.entries.first
    }

    // MARK: Groups

    /// Every group `dn` belongs to, nested membership included.
    func groups(of dn: DistinguishedName, on connection: LDAPConnection) async throws -> Set<DistinguishedName> {
        self.flavour == .generic ? try await self.expandRecursively(dn, on: connection) : try await self.inChain(dn, on: connection)
    }

    /// AD: one paged search with LDAP_MATCHING_RULE_IN_CHAIN, which the DC evaluates transitively.
    private func inChain(_ dn: DistinguishedName, on connection: LDAPConnection) async throws -> Set<DistinguishedName> {
        let filter = LDAPFilter.and([
            self.groupClasses,
            .extensible(matchingRule: LDAPFilter.inChainRule, attribute: "member", value: Array(dn.description.utf8), dnAttributes: false),
        ])
        var groups = Set<DistinguishedName>()
        let request = SearchRequest(baseObject: self.baseDN.description, scope: .wholeSubtree, filter: filter, attributes: ["1.1"])
        for try await entry in connection.pagedSearch(request, pageSize: Self.pageSize) {
            guard let group = try? DistinguishedName(entry.objectName) else { continue }
            groups.insert(group.tidied)
            if groups.count >= Self.maximumGroups {
                self.logger.warning("group resolution cut at the limit", metadata: ["printplane.directory.dn": "\(dn)", "printplane.directory.groups": "\(groups.count)"])
                break
            }
        }
        return groups
    }

    /// Generic LDAP: breadth-first over `member`/`uniqueMember`, asking for the groups that
    /// contain any DN of the current level. Visited groups are never asked about twice, so a
    /// membership cycle ends; depth and count are bounded.
    private func expandRecursively(_ dn: DistinguishedName, on connection: LDAPConnection) async throws -> Set<DistinguishedName> {
        var groups = Set<DistinguishedName>()
        var frontier = [dn]
        var depth = 0
        levels: while !frontier.isEmpty {
            guard depth < Self.maximumDepth else {
                self.logger.warning("group nesting deeper than the limit; stopped", metadata: ["printplane.directory.dn": "\(dn)", "printplane.directory.depth": "\(depth)"])
                break
            }
            depth += 1
            var next = [DistinguishedName]()
            var start = 0
            while start < frontier.count {
                let chunk = frontier[start..<min(frontier.count, start + Self.dnsPerFilter)]
                start += Self.dnsPerFilter
                let members = chunk.flatMap { member -> [LDAPFilter] in
                    let value = Array(member.description.utf8)
                    return [.equality(attribute: "member", value: value), .equality(attribute: "uniqueMember", value: value)]
                }
                let request = SearchRequest(baseObject: self.baseDN.description, scope: .wholeSubtree, filter: .and([self.groupClasses, .or(members)]), attributes: ["1.1"])
                for try await entry in connection.pagedSearch(request, pageSize: Self.pageSize) {
                    guard let group = try? DistinguishedName(entry.objectName) else { continue }
                    if groups.insert(group.tidied).inserted { next.append(group.tidied) }
                    if groups.count >= Self.maximumGroups {
                        self.logger.warning("group resolution cut at the limit", metadata: ["printplane.directory.dn": "\(dn)", "printplane.directory.groups": "\(groups.count)"])
                        break levels
                    }
                }
            }
            frontier = next
        }
        return groups
    }

    // MARK: Browsing

    /// Groups or OUs/containers whose name contains `text` (all of them when it is empty), for
    /// an admin choosing a target: at most `limit` after skipping `offset`, and whether more exist.
    func browse(_ kind: DirectorySearchKind, text: String, limit: Int, offset: Int, on connection: LDAPConnection) async throws -> (items: [DirectorySearchPage.Item], more: Bool) {
        let classes: LDAPFilter
        let nameAttributes: [String]
        switch kind {
        case .group:
            classes = self.groupClasses
            nameAttributes = ["cn"]
        case .organizationalUnit:
            classes = .or([Self.equals("objectClass", "organizationalUnit"), Self.equals("objectClass", "container")])
            nameAttributes = ["ou", "cn"]
        }
        var filter = classes
        if !text.isEmpty {
            let value = Array(text.utf8)
            let matches = nameAttributes.map { LDAPFilter.substrings(attribute: $0, initial: nil, any: [value], final: nil) }
            filter = .and([classes, matches.count == 1 ? matches[0] : .or(matches)])
        }
        let request = SearchRequest(baseObject: self.baseDN.description, scope: .wholeSubtree, filter: filter, attributes: nameAttributes)
        var items = [DirectorySearchPage.Item]()
        var seen = 0
        for try await entry in connection.pagedSearch(request, pageSize: min(Self.pageSize, offset + limit + 1)) {
            seen += 1
            if seen <= offset { continue }
            if items.count == limit { return (items, true) }
            let name = nameAttributes.lazy.compactMap { entry.strings(of: $0).first }.first
                ?? (try? DistinguishedName(entry.objectName))?.rdns.first?.first?.value ?? entry.objectName
            items.append(.init(dn: entry.objectName, name: name))
        }
        return (items, false)
    }

    // MARK: RootDSE

    /// What the RootDSE (RFC 4512 §5.1) says about the server.
    struct RootDSE: Sendable {
        var isActiveDirectory: Bool
        var namingContext: String?
        var vendor: String?
    }

    static func rootDSE(on connection: LDAPConnection) async throws -> RootDSE {
        let request = SearchRequest(
            baseObject: "", scope: .baseObject, filter: .objectClassPresent,
            attributes: ["supportedCapabilities", "defaultNamingContext", "namingContexts", "vendorName", "vendorVersion"])
        let entry = try await connection.search(request).entries.first
        let capabilities = entry?.strings(of: "supportedCapabilities") ?? []
        return RootDSE(
            isActiveDirectory: capabilities.contains(DirectoryFlavour.activeDirectoryCapability),
            namingContext: entry?.strings(of: "defaultNamingContext").first ?? entry?.strings(of: "namingContexts").first,
            vendor: entry?.strings(of: "vendorName").first)
    }
}
