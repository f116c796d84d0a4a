import LDAP
import Sim
import Testing

@Suite struct DirectoryGeneratorTests {
    static let parameters = DirectoryGenerator.Parameters(domain: "corp.example.com", seed: 7, users: 600, groups: 80, computers: 50)

    @Test func sameSeedGivesTheSameDirectoryAndAnotherSeedDoesNot() throws {
        let first = try DirectoryGenerator.generate(Self.parameters).ldif()
        let second = try DirectoryGenerator.generate(Self.parameters).ldif()
        #expect(first == second)
        var other = Self.parameters
        other.seed = 8
        #expect(try DirectoryGenerator.generate(other).ldif() != first)
    }

    @Test func peopleCarryTheADAttributes() throws {
        let directory = try DirectoryGenerator.generate(Self.parameters)
        let people = directory.people
        #expect(people.count == 600 + 2)  // plus Administrator and svc-printplane
        for person in people {
            for attribute in ["sAMAccountName", "userPrincipalName", "cn", "displayName", "mail", "userAccountControl", "objectSid", "objectGUID"] {
                #expect(!person.values(of: attribute).isEmpty, "\(person.dn) lacks \(attribute)")
            }
            #expect(person.values(of: "objectGUID").first?.count == 16)
        }
        let disabled = people.filter { $0.string("userAccountControl") == "514" }
        #expect(!disabled.isEmpty && disabled.count < people.count / 10)
        #expect(people.filter { !$0.values(of: "memberOf").isEmpty }.count >= 600)
    }

    @Test func membershipChangesUpdateMemberAndMemberOf() throws {
        let directory = try DirectoryGenerator.generate(Self.parameters)
        let group = "CN=NewYork Staff,OU=Groups,DC=corp,DC=example,DC=com"
        let person = try #require(directory.people.first { !$0.values(of: "memberOf").contains(Array(group.utf8)) })
        let added = try directory.changingMembers(of: group, adding: [person.dn.description])
        #expect(added.entry(dn: person.dn.description)?.values(of: "memberOf").contains(Array(group.utf8)) == true)
        #expect(added.entry(dn: group)?.values(of: "member").contains(Array(person.dn.description.utf8)) == true)
        #expect(added.entries.count == directory.entries.count)
        let removed = try added.changingMembers(of: group.lowercased(), removing: [person.dn.description.uppercased()])
        #expect(removed.ldif() == directory.ldif(), "adding then removing gives the directory back")
        #expect(throws: SimulatedADError.noSuchGroup("")) { try directory.changingMembers(of: "CN=Nope,DC=corp,DC=example,DC=com", adding: []) }
    }

    @Test func sidsShareOneDomainSIDAndAreUnique() throws {
        let directory = try DirectoryGenerator.generate(Self.parameters)
        let domainSID = try #require(SecurityIdentifier.string(directory.entry(dn: directory.baseDN.description)!.values(of: "objectSid")[0]))
        #expect(domainSID.hasPrefix("S-1-5-21-"))
        #expect(domainSID.split(separator: "-").count == 7)
        let sids = directory.entries.compactMap { $0.values(of: "objectSid").first }.filter { $0.count == 28 }.map { SecurityIdentifier.string($0)! }
        #expect(Set(sids).count == sids.count)
        #expect(sids.allSatisfy { $0.hasPrefix(domainSID + "-") })
    }

    @Test func groupsNestSeveralLevelsDeep() throws {
        let directory = try DirectoryGenerator.generate(Self.parameters)
        let groups = directory.entries.filter { $0.hasObjectClass("group") }
        #expect(groups.count == 80)
        func depth(_ dn: String, _ seen: Set<String>) -> Int {
            guard let entry = directory.entry(dn: dn), !seen.contains(dn.lowercased()) else { return 0 }
            let parents = entry.values(of: "memberOf").map { String(decoding: $0, as: UTF8.self) }
            return 1 + (parents.map { depth($0, seen.union([dn.lowercased()])) }.max() ?? 0)
        }
        let deepest = groups.map { depth($0.dn.description, []) }.max() ?? 0
        #expect(deepest >= 4)
    }

    @Test func computersLiveInSiteOUs() throws {
        let directory = try DirectoryGenerator.generate(Self.parameters)
        let computers = directory.entries.filter { $0.hasObjectClass("computer") }
        #expect(computers.count == 50)
        #expect(computers.allSatisfy { $0.dn.description.contains(",OU=Computers,OU=") && $0.string("sAMAccountName")!.hasSuffix("$") })
    }

    @Test func passwordRuleIsDocumentedAndAccountsResolveEveryWay() throws {
        let directory = try DirectoryGenerator.generate(Self.parameters)
        #expect(SimulatedDirectory.password(seed: 7, sAMAccountName: "alice.smith") == "Printplane-7-alice.smith")
        let person = directory.people.last!
        let sam = person.string("sAMAccountName")!
        #expect(directory.account(named: "CORP\\\(sam.uppercased())")?.dn == person.dn)
        #expect(directory.account(named: "\(sam)@CORP.example.com")?.dn == person.dn)
        #expect(directory.account(named: person.dn.description.lowercased())?.dn == person.dn)
        #expect(directory.account(named: "OTHER\\\(sam)") == nil)
    }

    @Test func invalidDomainIsAnError() {
        var parameters = Self.parameters
        parameters.domain = "nodots"
        #expect(throws: SimulatedADError.invalidDomain("")) { try DirectoryGenerator.generate(parameters) }
    }

    @Test func ldifEncodesBinaryValuesAsBase64() throws {
        let ldif = try DirectoryGenerator.generate(Self.parameters).ldif()
        #expect(ldif.hasPrefix("dn: DC=corp,DC=example,DC=com\n"))
        #expect(ldif.contains("\nobjectSid:: AQ"))
        #expect(ldif.contains("\nobjectGUID:: "))
        #expect(!ldif.contains("\nobjectSid: "))
    }

    @Test func faultCommandsParse() throws {
        var faults = SimulatedADFaults()
        try faults.apply("latency=250ms, refuse=on,drop-after=3,bind-delay=1s,reject-binds=true")
        #expect(faults == SimulatedADFaults(latency: .milliseconds(250), bindDelay: .seconds(1), refuseConnections: true, dropSearchAfterEntries: 3, rejectBinds: true))
        try faults.apply("reset")
        #expect(faults == SimulatedADFaults())
        #expect(throws: SimulatedADError.invalidFault("")) { try faults.apply("latency=fast") }
        #expect(throws: SimulatedADError.invalidFault("")) { try faults.apply("explode=on") }
    }
}
