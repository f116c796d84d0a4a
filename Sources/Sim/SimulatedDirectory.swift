import LDAP
import PrintplaneCore

/// The simulated AD's data: an immutable, in-memory directory with the indexes searches and
/// binds need. Built once by ``DirectoryGenerator`` and shared by every connection.
public struct SimulatedDirectory: Sendable {
    /// The DNS domain, e.g. `corp.example.com`.
    public let domain: String
    /// The naming context, e.g. `DC=corp,DC=example,DC=com`.
    public let baseDN: DistinguishedName
    /// The NetBIOS domain name used in `DOMAIN\user` binds, e.g. `CORP`.
    public let netbiosName: String
    public let seed: UInt64
    /// Every entry, parents before children.
    public let entries: [DirectoryEntry]

    private let byDN: [String: Int]
    private let children: [[Int]]
    private let bySAMAccountName: [String: Int]
    private let byUPN: [String: Int]

    /// The documented password rule: every account's password is
    /// `Printplane-<seed>-<sAMAccountName>`, e.g. `Printplane-42-alice.smith`.
    public static func password(seed: UInt64, sAMAccountName: String) -> String {
        "Printplane-\(seed)-\(sAMAccountName)"
    }

    /// The password of `sAMAccountName` in this directory.
    public func password(for sAMAccountName: String) -> String {
        Self.password(seed: self.seed, sAMAccountName: sAMAccountName)
    }

    /// The entry with this DN (compared case-insensitively).
    public func entry(dn: String) -> DirectoryEntry? {
        self.byDN[DistinguishedName.normalize(dn)].map { self.entries[$0] }
    }

    func index(normalizedDN: String) -> Int? { self.byDN[normalizedDN] }

    /// The entries directly beneath the entry at `index`.
    func childIndexes(ofIndex index: Int) -> [Int] { self.children[index] }

    /// The account a bind name refers to: a DN, a UPN (`user@domain`), `DOMAIN\user`, or a
    /// bare sAMAccountName, all case-insensitive as AD treats them.
    public func account(named name: String) -> DirectoryEntry? {
        if let backslash = name.firstIndex(of: "\\") {
            let domain = name[..<backslash]
            guard domain.lowercased() == self.netbiosName.lowercased() || domain.lowercased() == self.domain.lowercased() else { return nil }
            return self.bySAMAccountName[name[name.index(after: backslash)...].lowercased()].map { self.entries[$0] }
        }
        if name.contains("=") {
            guard let entry = self.entry(dn: name), entry.string("sAMAccountName") != nil else { return nil }
            return entry
        }
        if name.contains("@") {
            return self.byUPN[name.lowercased()].map { self.entries[$0] }
        }
        return self.bySAMAccountName[name.lowercased()].map { self.entries[$0] }
    }

    /// The entry whose sAMAccountName is `key` (already lower-cased).
    func indexOfAccount(sAMAccountName key: String) -> Int? { self.bySAMAccountName[key] }

    /// The entry whose userPrincipalName is `key` (already lower-cased).
    func indexOfAccount(userPrincipalName key: String) -> Int? { self.byUPN[key] }

    /// This directory with the `member` values of the group at `groupDN` changed, and every
    /// `memberOf` back-link recomputed, as AD maintains them. Throws when the group does not
    /// exist; members need not exist (AD would refuse that, a test may want it).
    public func changingMembers(of groupDN: String, adding: [String] = [], removing: [String] = []) throws -> SimulatedDirectory {
        guard let groupIndex = self.byDN[DistinguishedName.normalize(groupDN)], self.entries[groupIndex].hasObjectClass("group") else {
            throw SimulatedADError.noSuchGroup(groupDN)
        }
        let removed = Set(removing.map(DistinguishedName.normalize))
        var builder = Builder(domain: self.domain, baseDN: self.baseDN.description, netbiosName: self.netbiosName, seed: self.seed, domainSID: [])
        for (index, original) in self.entries.enumerated() {
            var entry = original
            entry.remove("memberOf")
            if index == groupIndex {
                var members = entry.values(of: "member").map { String(decoding: $0, as: UTF8.self) }
                members.removeAll { removed.contains(DistinguishedName.normalize($0)) }
                for dn in adding where !members.contains(where: { DistinguishedName.normalize($0) == DistinguishedName.normalize(dn) }) {
                    members.append(dn)
                }
                entry.remove("member")
                entry.append(LDAPAttribute(type: "member", strings: members))
            }
            builder.add(entry)
        }
        return builder.build()
    }

    /// The people (person objects that are not computers), service accounts included.
    public var people: [DirectoryEntry] {
        self.entries.filter { $0.hasObjectClass("person") && !$0.hasObjectClass("computer") }
    }

    /// Collects entries and derives memberOf from the groups' member values, as AD's
    /// back-links do.
    struct Builder {
        let domain: String
        let baseDN: String
        let netbiosName: String
        let seed: UInt64
        let domainSID: [UInt32]
        private(set) var entries: [DirectoryEntry] = []

        init(domain: String, baseDN: String, netbiosName: String, seed: UInt64, domainSID: [UInt32]) {
            self.domain = domain
            self.baseDN = baseDN
            self.netbiosName = netbiosName
            self.seed = seed
            self.domainSID = domainSID
        }

        @discardableResult
        mutating func add(_ entry: DirectoryEntry) -> Int {
            self.entries.append(entry)
            return self.entries.count - 1
        }

        func build() -> SimulatedDirectory {
            var entries = self.entries
            var byDN: [String: Int] = [:]
            var children: [[Int]] = Array(repeating: [], count: entries.count)
            var bySAM: [String: Int] = [:]
            var byUPN: [String: Int] = [:]
            for (index, entry) in entries.enumerated() {
                byDN[entry.dn.normalized] = index
                if let parent = entry.dn.parent, let parentIndex = byDN[parent.normalized] { children[parentIndex].append(index) }
                if let sam = entry.string("sAMAccountName") { bySAM[sam.lowercased()] = index }
                if let upn = entry.string("userPrincipalName") { byUPN[upn.lowercased()] = index }
            }
            var memberOf: [Int: [String]] = [:]
            for entry in entries where entry.hasObjectClass("group") {
                for member in entry.values(of: "member") {
                    if let target = byDN[DistinguishedName.normalize(String(decoding: member, as: UTF8.self))] {
                        memberOf[target, default: []].append(entry.dn.description)
                    }
                }
            }
            for (index, groups) in memberOf {
                entries[index].append(LDAPAttribute(type: "memberOf", strings: groups))
            }
            return SimulatedDirectory(
                domain: self.domain,
                baseDN: try! DistinguishedName(self.baseDN),
                netbiosName: self.netbiosName,
                seed: self.seed,
                entries: entries,
                byDN: byDN,
                children: children,
                bySAMAccountName: bySAM,
                byUPN: byUPN
            )
        }
    }
}

extension SimulatedDirectory: LDAPFilterContext {
    public typealias Entry = DirectoryEntry

    public func values(of attribute: String, in entry: DirectoryEntry) -> [[UInt8]] {
        entry.values(of: attribute)
    }

    public func distinguishedName(of entry: DirectoryEntry) -> DistinguishedName {
        entry.dn
    }

    public func entry(normalizedDN: String) -> DirectoryEntry? {
        self.byDN[normalizedDN].map { self.entries[$0] }
    }
}
