import LDAP
import PrintplaneCore

/// Builds the simulated directory from a seed: the same parameters always give the same
/// directory, byte for byte (DNs, SIDs, GUIDs, memberships, disabled accounts).
///
/// Layout, under the domain `DC=corp,DC=example,DC=com`:
/// ```
/// CN=Users                          Administrator, svc-printplane (AD's default container)
/// OU=Sites
///   OU=<Site>                       e.g. OU=London
///     OU=Users
///       OU=<Department>             the people, e.g. OU=Sales
///     OU=Computers                  workstations WS-<SITE>-<n>
/// OU=Groups                         All Staff ⊃ <Site> Staff ⊃ <Site> <Department> ⊃ Team <n> …
/// ```
/// Teams nest into earlier groups, so group nesting runs several levels deep and never cycles.
public enum DirectoryGenerator {
    /// How big the directory is.
    public struct Parameters: Sendable, Hashable {
        public var domain: String
        public var seed: UInt64
        public var users: Int
        public var groups: Int
        public var computers: Int
        /// Roughly this fraction of people are disabled (userAccountControl 514).
        public var disabledFraction: Double

        public init(domain: String = "corp.example.com", seed: UInt64 = 42, users: Int = 10_000, groups: Int = 500, computers: Int = 10_000, disabledFraction: Double = 0.03) {
            self.domain = domain
            self.seed = seed
            self.users = users
            self.groups = groups
            self.computers = computers
            self.disabledFraction = disabledFraction
        }
    }

    static let sites: [(name: String, code: String)] = [
        ("London", "LON"), ("NewYork", "NYC"), ("Tokyo", "TYO"), ("Berlin", "BER"),
        ("Sydney", "SYD"), ("Toronto", "YYZ"), ("Paris", "PAR"), ("Singapore", "SIN"),
    ]
    static let departments = ["Sales", "Engineering", "Finance", "HR", "Marketing", "Operations", "Legal", "Support"]
    static let firstNames = [
        "Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj",
        "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Uma", "Victor", "Walter", "Xena", "Yusuf", "Zoe", "Amir",
        "Bianca", "Chen", "Dmitri", "Eva", "Farah", "Goran", "Hana", "Igor", "Jun", "Kofi", "Lena", "Mateo",
    ]
    static let lastNames = [
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Garcia",
        "Muller", "Rossi", "Kim", "Nguyen", "Sato", "Tanaka", "Silva", "Novak", "Kowalski", "Haddad",
        "Okafor", "Larsen", "Dubois", "Ivanova", "Chen", "Singh", "Cohen", "Murphy", "Walsh", "Moreau",
    ]

    /// Generates the directory.
    public static func generate(_ parameters: Parameters) throws -> SimulatedDirectory {
        let labels = parameters.domain.split(separator: ".").map(String.init)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } }) else {
            throw SimulatedADError.invalidDomain(parameters.domain)
        }
        var random = SeededRandom(seed: parameters.seed)
        let baseDN = labels.map { "DC=\($0)" }.joined(separator: ",")
        let netbios = labels[0].uppercased()
        let domainSID = (0..<3).map { _ in UInt32(truncatingIfNeeded: random.next() >> 33) | 0x1000_0000 }
        var nextRID: UInt32 = 1103
        func sid(rid: UInt32) -> [UInt8] { SecurityIdentifier.encode(domain: domainSID, rid: rid) }
        func newSID() -> [UInt8] {
            nextRID += 1
            return sid(rid: nextRID)
        }
        func guid() -> [UInt8] {
            var bytes = random.bytes(16)
            bytes[7] = (bytes[7] & 0x0F) | 0x40  // version 4, in AD's little-endian field order
            bytes[8] = (bytes[8] & 0x3F) | 0x80
            return bytes
        }
        let schema = "CN=Schema,CN=Configuration,\(baseDN)"
        var builder = SimulatedDirectory.Builder(domain: parameters.domain, baseDN: baseDN, netbiosName: netbios, seed: parameters.seed, domainSID: domainSID)

        func container(_ dn: String, objectClass: String, name: String) throws {
            var entry = DirectoryEntry(dn: try DistinguishedName(dn), attributes: [])
            entry.add("objectClass", "top", objectClass)
            entry.add(objectClass == "organizationalUnit" ? "ou" : "cn", name)
            entry.add("distinguishedName", dn)
            entry.add("name", name)
            entry.add("objectGUID", bytes: guid())
            entry.add("objectCategory", "CN=\(objectClass == "organizationalUnit" ? "Organizational-Unit" : "Container"),\(schema)")
            builder.add(entry)
        }

        // The domain head.
        var head = DirectoryEntry(dn: try DistinguishedName(baseDN), attributes: [])
        head.add("objectClass", "top", "domain", "domainDNS")
        head.add("dc", labels[0])
        head.add("distinguishedName", baseDN)
        head.add("name", labels[0])
        head.add("objectGUID", bytes: guid())
        head.add("objectSid", bytes: SecurityIdentifier.encode(domain: domainSID, rid: nil))
        head.add("objectCategory", "CN=Domain-DNS,\(schema)")
        builder.add(head)

        try container("CN=Users,\(baseDN)", objectClass: "container", name: "Users")
        try container("OU=Sites,\(baseDN)", objectClass: "organizationalUnit", name: "Sites")
        try container("OU=Groups,\(baseDN)", objectClass: "organizationalUnit", name: "Groups")

        let siteCount = min(Self.sites.count, max(2, parameters.users / 1500 + 1))
        let departmentCount = parameters.users >= 1000 ? 6 : 4
        let sites = Array(Self.sites.prefix(siteCount))
        let departments = Array(Self.departments.prefix(departmentCount))
        for site in sites {
            let siteDN = "OU=\(site.name),OU=Sites,\(baseDN)"
            try container(siteDN, objectClass: "organizationalUnit", name: site.name)
            try container("OU=Users,\(siteDN)", objectClass: "organizationalUnit", name: "Users")
            try container("OU=Computers,\(siteDN)", objectClass: "organizationalUnit", name: "Computers")
            for department in departments {
                try container("OU=\(department),OU=Users,\(siteDN)", objectClass: "organizationalUnit", name: department)
            }
        }

        // People.
        func person(sam: String, cn: String, given: String, surname: String, parentDN: String, disabled: Bool, description: String?) throws -> Int {
            let dn = "CN=\(DistinguishedName.escapeValue(cn)),\(parentDN)"
            var entry = DirectoryEntry(dn: try DistinguishedName(dn), attributes: [])
            entry.add("objectClass", "top", "person", "organizationalPerson", "user")
            entry.add("cn", cn)
            entry.add("sn", surname)
            entry.add("givenName", given)
            entry.add("displayName", cn)
            entry.add("name", cn)
            entry.add("distinguishedName", dn)
            entry.add("sAMAccountName", sam)
            entry.add("userPrincipalName", "\(sam)@\(parameters.domain)")
            entry.add("mail", "\(sam)@\(parameters.domain)")
            entry.add("userAccountControl", disabled ? "514" : "512")
            entry.add("sAMAccountType", "805306368")
            entry.add("primaryGroupID", "513")
            entry.add("objectSid", bytes: newSID())
            entry.add("objectGUID", bytes: guid())
            entry.add("objectCategory", "CN=Person,\(schema)")
            if let description { entry.add("description", description) }
            return builder.add(entry)
        }
        let usersContainer = "CN=Users,\(baseDN)"
        _ = try person(sam: "Administrator", cn: "Administrator", given: "Domain", surname: "Administrator", parentDN: usersContainer, disabled: false, description: "Built-in account for administering the domain; may switch faults")
        _ = try person(sam: "svc-printplane", cn: "svc-printplane", given: "Printplane", surname: "Service", parentDN: usersContainer, disabled: false, description: "Read-only service account for the Printplane server")

        var usedNames: Set<String> = []
        var peopleBySiteDepartment: [[Int]] = Array(repeating: [], count: siteCount * departmentCount)
        var people: [Int] = []
        for _ in 0..<parameters.users {
            let given = Self.firstNames[Int(random.next() % UInt64(Self.firstNames.count))]
            let surname = Self.lastNames[Int(random.next() % UInt64(Self.lastNames.count))]
            let base = "\(given.lowercased()).\(surname.lowercased())"
            var sam = base
            var suffix = 1
            while usedNames.contains(sam) {
                suffix += 1
                sam = "\(base)\(suffix)"
            }
            usedNames.insert(sam)
            let cn = suffix == 1 ? "\(given) \(surname)" : "\(given) \(surname) \(suffix)"
            let siteIndex = Int(random.next() % UInt64(siteCount))
            let departmentIndex = Int(random.next() % UInt64(departmentCount))
            let disabled = Double(random.next() % 10_000) / 10_000 < parameters.disabledFraction
            let parent = "OU=\(departments[departmentIndex]),OU=Users,OU=\(sites[siteIndex].name),OU=Sites,\(baseDN)"
            let index = try person(sam: sam, cn: cn, given: given, surname: surname, parentDN: parent, disabled: disabled, description: nil)
            people.append(index)
            peopleBySiteDepartment[siteIndex * departmentCount + departmentIndex].append(index)
        }

        // Groups: the structural tree first, then teams nested beneath earlier groups.
        var groupNames: [String] = ["All Staff"]
        var groupParents: [Int?] = [nil]
        var structuralMembers: [[Int]] = [[]]
        for (siteIndex, site) in sites.enumerated() {
            groupNames.append("\(site.name) Staff")
            groupParents.append(0)
            structuralMembers.append([])
            let siteGroup = groupNames.count - 1
            for departmentIndex in departments.indices {
                groupNames.append("\(site.name) \(departments[departmentIndex])")
                groupParents.append(siteGroup)
                structuralMembers.append(peopleBySiteDepartment[siteIndex * departmentCount + departmentIndex])
            }
        }
        let structuralCount = groupNames.count
        var teamNumber = 0
        while groupNames.count < parameters.groups {
            teamNumber += 1
            let parent = Int(random.next() % UInt64(groupNames.count))
            groupNames.append("Team \(zeroPadded(teamNumber, width: 4))")
            groupParents.append(parent)
            structuralMembers.append([])
        }
        let groupCount = min(parameters.groups, groupNames.count)
        var members: [[String]] = Array(repeating: [], count: groupCount)
        for group in 0..<groupCount {
            for person in structuralMembers[group] { members[group].append(builder.entries[person].dn.description) }
        }
        // Teams take a handful of people each.
        if groupCount > structuralCount, !people.isEmpty {
            for group in structuralCount..<groupCount {
                let size = 3 + Int(random.next() % 12)
                for _ in 0..<size {
                    let person = people[Int(random.next() % UInt64(people.count))]
                    let dn = builder.entries[person].dn.description
                    if !members[group].contains(dn) { members[group].append(dn) }
                }
            }
        }
        var groupDNs: [String] = []
        for group in 0..<groupCount {
            let name = groupNames[group]
            groupDNs.append("CN=\(DistinguishedName.escapeValue(name)),OU=Groups,\(baseDN)")
        }
        for group in 0..<groupCount {
            if let parent = groupParents[group], parent < groupCount {
                members[parent].append(groupDNs[group])
            }
        }
        for group in 0..<groupCount {
            let name = groupNames[group]
            var entry = DirectoryEntry(dn: try DistinguishedName(groupDNs[group]), attributes: [])
            entry.add("objectClass", "top", "group")
            entry.add("cn", name)
            entry.add("name", name)
            entry.add("distinguishedName", groupDNs[group])
            entry.add("sAMAccountName", name)
            entry.add("groupType", "-2147483646")
            entry.add("sAMAccountType", "268435456")
            entry.add("objectSid", bytes: newSID())
            entry.add("objectGUID", bytes: guid())
            entry.add("objectCategory", "CN=Group,\(schema)")
            entry.append(LDAPAttribute(type: "member", strings: members[group]))
            builder.add(entry)
        }

        // Workstations, spread across the sites' Computers OUs.
        for number in 1...max(1, parameters.computers) where parameters.computers > 0 {
            let site = sites[Int(random.next() % UInt64(siteCount))]
            let name = "WS-\(site.code)-\(zeroPadded(number, width: 5))"
            let dn = "CN=\(name),OU=Computers,OU=\(site.name),OU=Sites,\(baseDN)"
            var entry = DirectoryEntry(dn: try DistinguishedName(dn), attributes: [])
            entry.add("objectClass", "top", "person", "organizationalPerson", "user", "computer")
            entry.add("cn", name)
            entry.add("name", name)
            entry.add("distinguishedName", dn)
            entry.add("sAMAccountName", "\(name)$")
            entry.add("dNSHostName", "\(name.lowercased()).\(parameters.domain)")
            entry.add("userAccountControl", "4096")
            entry.add("sAMAccountType", "805306369")
            entry.add("primaryGroupID", "515")
            entry.add("objectSid", bytes: newSID())
            entry.add("objectGUID", bytes: guid())
            entry.add("objectCategory", "CN=Computer,\(schema)")
            builder.add(entry)
        }
        return builder.build()
    }
}

func zeroPadded(_ number: Int, width: Int) -> String {
    let digits = String(number)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// Windows security identifiers in their binary form (MS-DTYP 2.4.2.2).
///
/// ```
/// Revision (1 byte) = 1 | SubAuthorityCount (1 byte) | IdentifierAuthority (6 bytes, big-endian)
/// | SubAuthority[SubAuthorityCount] (4 bytes each, little-endian)
/// ```
/// Domain accounts are S-1-5-21-a-b-c-RID under one domain SID.
public enum SecurityIdentifier {
    /// The SID for `rid` in the domain with sub-authorities `domain`; nil gives the domain SID.
    public static func encode(domain: [UInt32], rid: UInt32?) -> [UInt8] {
        let subAuthorities = [21] + domain + (rid.map { [$0] } ?? [])
        var bytes: [UInt8] = [1, UInt8(subAuthorities.count), 0, 0, 0, 0, 0, 5]
        for value in subAuthorities {
            bytes += [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
        }
        return bytes
    }

    /// The `S-1-5-21-…` string form of a binary SID, or nil if the bytes are not a SID.
    public static func string(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 8, bytes[0] == 1, bytes.count == 8 + Int(bytes[1]) * 4 else { return nil }
        var authority: UInt64 = 0
        for byte in bytes[2..<8] { authority = authority << 8 | UInt64(byte) }
        var text = "S-1-\(authority)"
        for index in 0..<Int(bytes[1]) {
            let offset = 8 + index * 4
            let value = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
            text += "-\(value)"
        }
        return text
    }
}
