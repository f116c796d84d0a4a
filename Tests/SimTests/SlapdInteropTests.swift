import Foundation
import LDAP
import PrintplaneCore
import Sim
import PrintplaneTestSupport
import Testing

/// Our LDAP client against a real OpenLDAP `slapd` serving the simulated AD's directory
/// (exported as LDIF), checked against what `ldapsearch` reads from the same slapd.
@Suite(.serialized) struct SlapdInteropTests {
    static let base = "DC=corp,DC=example,DC=com"
    static let compared = ["cn", "sAMAccountName", "userPrincipalName", "mail", "memberOf", "objectSid", "objectGUID", "userAccountControl"]

    /// 2,000 people, 100 groups and 100 computers: 2,224 entries, 2,102 of them users (people,
    /// Administrator, svc-printplane and computers).
    static let directory: SimulatedDirectory = try! DirectoryGenerator.generate(.init(seed: 42, users: 2000, groups: 100, computers: 100))

    static var serviceDN: String { "CN=svc-printplane,CN=Users,\(Self.base)" }
    static var servicePassword: String { Self.directory.password(for: "svc-printplane") }

    func withSlapd<Result>(_ body: (SlapdServer) async throws -> Result) async throws -> Result {
        let ldif = SlapdSchema.withPasswords(Self.directory.ldif()) { Self.directory.password(for: $0) }
        return try await SlapdServer.with(ldif: ldif, suffix: Self.base, body: body)
    }

    func connect(_ slapd: SlapdServer) async throws -> LDAPConnection {
        let connection = try await LDAPConnection.connect(configuration: LDAPClientConfiguration(host: "127.0.0.1", port: slapd.port, connectTimeout: .seconds(5), operationTimeout: .seconds(30)))
        try await connection.bind(name: Self.serviceDN, password: Self.servicePassword)
        return connection
    }

    func ldapsearch(_ slapd: SlapdServer, _ arguments: [String]) async throws -> ExternalTool.Output {
        try await ExternalTool.run("ldapsearch", ["-x", "-LLL", "-o", "ldif-wrap=no", "-H", slapd.url, "-D", Self.serviceDN, "-w", Self.servicePassword, "-b", Self.base] + arguments, timeout: 60)
    }

    /// DN plus the selected attributes (names lower-cased, values in the order sent).
    static func rows(_ entries: [SearchResultEntry]) -> [LDIFReader.Entry] {
        entries.map { entry in
            var attributes: [String: [[UInt8]]] = [:]
            for attribute in entry.attributes { attributes[attribute.type.lowercased(), default: []] += attribute.values }
            return LDIFReader.Entry(dn: entry.objectName, attributes: attributes)
        }
    }

    @Test func pagedSearchReturnsExactlyWhatLdapsearchPrints() async throws {
        try await self.withSlapd { slapd in
            let connection = try await self.connect(slapd)
            let filter = "(objectClass=user)"
            let request = SearchRequest(baseObject: Self.base, filter: try LDAPFilter(parsing: filter), attributes: Self.compared)
            var iterator = connection.pagedSearch(request, pageSize: 300).makeAsyncIterator()
            var entries: [SearchResultEntry] = []
            while let entry = try await iterator.next() { entries.append(entry) }
            await connection.close()

            #expect(entries.count == 2102)
            #expect(iterator.pages == 8, "2,102 entries at 300 a page")

            let output = try await self.ldapsearch(slapd, ["-E", "pr=300/noprompt", filter] + Self.compared)
            #expect(output.status == 0, "\(output.stderr)")
            let expected = LDIFReader.entries(output.stdout)
            let ours = Self.rows(entries)
            #expect(expected.count == 2102)
            #expect(ours.map(\.dn) == expected.map(\.dn), "same entries in the same order")
            #expect(ours == expected, "\(zip(ours, expected).first { $0 != $1 }.map { "\($0) ≠ \($1)" } ?? "")")
            // The binary values really are binary (not mangled through a string).
            let sid = try #require(ours.first?.attributes["objectsid"]?.first)
            #expect(sid.count == 28 && sid[0] == 1 && sid[1] == 5)
        }
    }

    @Test func clientSideFilterEvaluationAgreesWithSlapd() async throws {
        try await self.withSlapd { slapd in
            let connection = try await self.connect(slapd)
            var everything: [SearchResultEntry] = []
            for try await entry in connection.pagedSearch(SearchRequest(baseObject: Self.base, filter: .present(attribute: "objectClass")), pageSize: 500) {
                everything.append(entry)
            }
            await connection.close()
            #expect(everything.count == 2224)
            let context = ResultContext(everything)

            let someone = try #require(everything.first { $0.strings(of: "sAMAccountName").first?.hasPrefix("am") == true })
            let sidFilter = "(objectSid=" + someone.values(of: "objectSid")[0].map { "\\" + ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + ")"
            let filters = [
                "(&(objectClass=user)(sAMAccountName=am*))",
                "(|(userAccountControl=514)(cn=*rossi*))",
                "(&(objectClass=user)(!(objectClass=computer))(userAccountControl>=513))",
                "(userAccountControl<=512)",
                "(memberOf=cn=all staff,ou=groups,dc=corp,dc=example,dc=com)",
                "(&(objectClass=group)(member=*))",
                "(mail=AMIR*)",
                "(userPrincipalName=*@corp.example.com)",
                "(&(objectClass=organizationalUnit)(!(ou=Users)))",
                sidFilter,
            ]
            for filter in filters {
                let parsed = try LDAPFilter(parsing: filter)
                let local = Set(everything.filter { parsed.matches($0, in: context) }.map(\.objectName))
                let output = try await self.ldapsearch(slapd, ["-E", "pr=1000/noprompt", filter, "1.1"])
                #expect(output.status == 0, "\(filter): \(output.stderr)")
                let remote = Set(LDIFReader.entries(output.stdout).map(\.dn))
                #expect(!remote.isEmpty, "\(filter) must match something for the comparison to mean anything")
                #expect(local == remote, "\(filter): \(local.symmetricDifference(remote).prefix(5))")
            }
        }
    }

    @Test func wrongPasswordIsResultCode49ThroughOurErrorType() async throws {
        try await self.withSlapd { slapd in
            let connection = try await LDAPConnection.connect(configuration: LDAPClientConfiguration(host: "127.0.0.1", port: slapd.port, connectTimeout: .seconds(5), operationTimeout: .seconds(10)))
            let error = await #expect(throws: LDAPClientError.self) {
                try await connection.bind(name: Self.serviceDN, password: "not-the-password")
            }
            #expect(error?.resultCode == .invalidCredentials)
            // The connection is still usable: a good bind follows.
            try await connection.bind(name: Self.serviceDN, password: Self.servicePassword)
            #expect(try await connection.whoAmI().lowercased() == "dn:" + Self.serviceDN.lowercased())
            await connection.close()

            let whoami = try await ExternalTool.run("ldapwhoami", ["-x", "-H", slapd.url, "-D", Self.serviceDN, "-w", "not-the-password"])
            #expect(whoami.status == 49)
        }
    }

    /// The simulated AD answers lookups by sAMAccountName and UPN from an index; slapd (with
    /// no index configured here, so it scans) is the oracle for scope and case handling.
    @Test func indexedLookupsOnTheSimulatedADAgreeWithSlapd() async throws {
        let people = Self.directory.people.compactMap { $0.string("sAMAccountName") }.filter { $0.contains(".") }
        let (first, second) = (people[17], people[1234])
        let disabled = try #require(Self.directory.people.first { $0.string("userAccountControl") == "514" }?.string("sAMAccountName"))
        let queries: [(base: String, scope: SearchRequest.Scope, filter: String)] = [
            (Self.base, .wholeSubtree, "(sAMAccountName=SVC-PrintPlane)"),
            (Self.base, .wholeSubtree, "(&(objectClass=user)(sAMAccountName=\(first)))"),
            (Self.base, .wholeSubtree, "(&(sAMAccountName=\(first))(userAccountControl=514))"),
            (Self.base, .wholeSubtree, "(&(sAMAccountName=\(disabled))(userAccountControl=514))"),
            ("OU=Groups,\(Self.base)", .wholeSubtree, "(sAMAccountName=\(first))"),
            ("CN=Users,\(Self.base)", .singleLevel, "(sAMAccountName=Administrator)"),
            (Self.base, .singleLevel, "(sAMAccountName=Administrator)"),
            ("CN=Administrator,CN=Users,\(Self.base)", .baseObject, "(sAMAccountName=administrator)"),
            (Self.base, .wholeSubtree, "(userPrincipalName=\(second)@CORP.example.com)"),
            (Self.base, .wholeSubtree, "(sAMAccountName=nobody.here)"),
            (Self.base, .wholeSubtree, "(sAMAccountName=All Staff)"),
            (Self.base, .wholeSubtree, "(|(sAMAccountName=\(first))(sAMAccountName=\(second)))"),
        ]
        func answers(_ connection: LDAPConnection) async throws -> [Set<String>] {
            var all: [Set<String>] = []
            for query in queries {
                let result = try await connection.search(SearchRequest(baseObject: query.base, scope: query.scope, filter: try LDAPFilter(parsing: query.filter), attributes: ["1.1"]))
                all.append(Set(result.entries.map { DistinguishedName.normalize($0.objectName) }))
            }
            return all
        }
        let fromAD = try await SimulatedADFixture.withServer(SimulatedADFixture.configuration(users: 2000, groups: 100, computers: 100)) { server, addresses in
            let connection = try await LDAPConnection.connect(configuration: try SimulatedADFixture.clientConfiguration(server, addresses))
            let account = SimulatedADFixture.serviceAccount(server.directory)
            try await connection.bind(name: account.name, password: account.password)
            let result = try await answers(connection)
            await connection.close()
            return result
        }
        let fromSlapd = try await self.withSlapd { slapd in
            let connection = try await self.connect(slapd)
            let result = try await answers(connection)
            await connection.close()
            return result
        }
        #expect(fromSlapd.map(\.count) == [1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 2], "the oracle itself")
        for (index, query) in queries.enumerated() {
            #expect(fromAD[index] == fromSlapd[index], "\(query.base) \(query.scope) \(query.filter)")
        }
    }

    /// Domain Scope (1.2.840.113556.1.4.1339) tells AD not to chase other domains; in a
    /// single-domain forest it changes nothing, and AD never returns referrals with it set.
    /// Both the simulated AD (which lists it in the RootDSE, as AD does) and slapd (which
    /// implements it without listing it) must take it sent critical
    /// and answer exactly as without it; a critical control neither knows is refused with
    /// unavailableCriticalExtension (RFC 4511 §4.1.11), which shows criticality reaches them.
    @Test func domainScopeSentCriticalChangesNothingOnTheSimulatedADAndSlapd() async throws {
        let request = SearchRequest(baseObject: Self.base, filter: try LDAPFilter(parsing: "(&(objectClass=user)(sAMAccountName=a*))"), attributes: ["sAMAccountName"])
        let unknown = LDAPControl(type: "1.3.6.1.4.1.32473.99.1", criticality: true)
        func check(_ connection: LDAPConnection, advertised: Bool) async throws -> [String] {
            let rootDSE = try await connection.search(SearchRequest(baseObject: "", scope: .baseObject, attributes: ["supportedControl"]))
            #expect(rootDSE.entries.first?.strings(of: "supportedControl").contains(LDAPControl.domainScopeOID) == advertised)
            var scoped: [String] = []
            for try await entry in connection.pagedSearch(request, pageSize: 50, controls: [.domainScope(criticality: true)]) { scoped.append(entry.objectName) }
            var plain: [String] = []
            for try await entry in connection.pagedSearch(request, pageSize: 50) { plain.append(entry.objectName) }
            let single = try await connection.search(request, controls: [.domainScope(criticality: true)])
            #expect(scoped.count > 50, "more than one page")
            #expect(scoped == plain)
            #expect(single.references.isEmpty, "no referrals with Domain Scope set")
            #expect(single.entries.map(\.objectName) == plain)
            let error = await #expect(throws: LDAPClientError.self) {
                _ = try await connection.search(request, controls: [unknown])
            }
            #expect(error?.resultCode == .unavailableCriticalExtension)
            return plain
        }
        let fromAD = try await SimulatedADFixture.withServer(SimulatedADFixture.configuration(users: 2000, groups: 100, computers: 100)) { server, addresses in
            let connection = try await LDAPConnection.connect(configuration: try SimulatedADFixture.clientConfiguration(server, addresses))
            let account = SimulatedADFixture.serviceAccount(server.directory)
            try await connection.bind(name: account.name, password: account.password)
            let names = try await check(connection, advertised: true)
            await connection.close()
            return names
        }
        let fromSlapd = try await self.withSlapd { slapd in
            let connection = try await self.connect(slapd)
            // slapd implements the control (servers/slapd/controls.c) but hides it from the RootDSE.
            let names = try await check(connection, advertised: false)
            await connection.close()
            return names
        }
        // Same directory, same filter: the same entries (slapd writes DNs in lower case).
        #expect(Set(fromAD.map(DistinguishedName.normalize)) == Set(fromSlapd.map(DistinguishedName.normalize)))
    }
}

/// Entries as a client holds them after a search, with DN lookups for the evaluator.
private struct ResultContext: LDAPFilterContext {
    let byDN: [String: SearchResultEntry]

    init(_ entries: [SearchResultEntry]) {
        self.byDN = Dictionary(entries.map { (DistinguishedName.normalize($0.objectName), $0) }, uniquingKeysWith: { first, _ in first })
    }

    func values(of attribute: String, in entry: SearchResultEntry) -> [[UInt8]] { entry.values(of: attribute) }
    func distinguishedName(of entry: SearchResultEntry) -> DistinguishedName { (try? DistinguishedName(entry.objectName)) ?? .root }
    func entry(normalizedDN: String) -> SearchResultEntry? { self.byDN[normalizedDN] }
}
