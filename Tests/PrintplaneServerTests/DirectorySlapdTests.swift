import Foundation
import LDAP
import PrintplaneCore
import PrintplaneTestSupport
import Testing

@testable import PrintplaneServer

/// The generic flavour against a real OpenLDAP `slapd`: accounts by `uid`, groups expanded
/// recursively over `member` and `uniqueMember`, through a membership cycle.
@Suite("Directory integration against slapd (generic LDAP)", .serialized)
struct DirectorySlapdTests {
    static let suffix = "dc=example,dc=org"

    /// alice ∈ team-a ⊂ department (uniqueMember) ⊂ cycle-1 ⊂ cycle-2 ⊂ cycle-1 (a cycle), and
    /// cycle-2 ⊂ admins; bob ∈ bobs; the host ws-1 ∈ hosts-group.
    static let ldif = """
        dn: dc=example,dc=org
        objectClass: dcObject
        objectClass: organization
        dc: example
        o: Example

        dn: ou=people,dc=example,dc=org
        objectClass: organizationalUnit
        ou: people

        dn: ou=engineering,ou=people,dc=example,dc=org
        objectClass: organizationalUnit
        ou: engineering

        dn: ou=groups,dc=example,dc=org
        objectClass: organizationalUnit
        ou: groups

        dn: ou=hosts,dc=example,dc=org
        objectClass: organizationalUnit
        ou: hosts

        dn: uid=svc,ou=people,dc=example,dc=org
        objectClass: inetOrgPerson
        uid: svc
        cn: Service
        sn: Account
        userPassword: svc-secret

        dn: uid=alice,ou=engineering,ou=people,dc=example,dc=org
        objectClass: inetOrgPerson
        uid: alice
        cn: Alice Example
        sn: Example
        mail: alice@example.org
        userPassword: alice-secret

        dn: uid=bob,ou=people,dc=example,dc=org
        objectClass: inetOrgPerson
        uid: bob
        cn: Bob Example
        sn: Example
        userPassword: bob-secret

        dn: cn=ws-1,ou=hosts,dc=example,dc=org
        objectClass: device
        cn: ws-1

        dn: cn=team-a,ou=groups,dc=example,dc=org
        objectClass: groupOfNames
        cn: team-a
        member: uid=alice,ou=engineering,ou=people,dc=example,dc=org

        dn: cn=department,ou=groups,dc=example,dc=org
        objectClass: groupOfUniqueNames
        cn: department
        uniqueMember: cn=team-a,ou=groups,dc=example,dc=org

        dn: cn=cycle-1,ou=groups,dc=example,dc=org
        objectClass: groupOfNames
        cn: cycle-1
        member: cn=department,ou=groups,dc=example,dc=org
        member: cn=cycle-2,ou=groups,dc=example,dc=org

        dn: cn=cycle-2,ou=groups,dc=example,dc=org
        objectClass: groupOfNames
        cn: cycle-2
        member: cn=cycle-1,ou=groups,dc=example,dc=org

        dn: cn=admins,ou=groups,dc=example,dc=org
        objectClass: groupOfNames
        cn: admins
        member: cn=cycle-2,ou=groups,dc=example,dc=org

        dn: cn=bobs,ou=groups,dc=example,dc=org
        objectClass: groupOfNames
        cn: bobs
        member: uid=bob,ou=people,dc=example,dc=org

        dn: cn=hosts-group,ou=groups,dc=example,dc=org
        objectClass: groupOfNames
        cn: hosts-group
        member: cn=ws-1,ou=hosts,dc=example,dc=org

        """

    static func group(_ name: String) -> String { "cn=\(name),ou=groups,\(suffix)" }

    @Test("generic flavour: detected from the RootDSE, nested groups expanded through a cycle, OU and group targets, logins")
    func genericFlavour() async throws {
        try await SlapdServer.with(ldif: Self.ldif, suffix: Self.suffix) { slapd in
            try await withTestServer { server in
                let settings: [String: Any] = [
                    "url": slapd.url, "base_dn": Self.suffix, "bind_dn": "uid=svc,ou=people,\(Self.suffix)", "bind_password": "svc-secret",
                    "admin_group_dn": Self.group("admins"),
                ]
                let test = try await server.admin(.POST, "/api/v1/admin/directory/test", json: settings).decode(DirectoryTestReport.self)
                #expect(test.ok && test.detectedFlavour == "generic" && test.flavour == "generic", "\(test)")
                #expect(test.namingContext == Self.suffix)
                try await server.configureDirectory(settings)

                let lookup = try await server.admin(.GET, "/api/v1/admin/directory/lookup?user=alice&computer=ws-1").decode(DirectoryLookup.self)
                #expect(lookup.flavour == "generic")
                #expect(lookup.user?.dn == "uid=alice,ou=engineering,ou=people,\(Self.suffix)")
                #expect(Set(lookup.user?.groups ?? []) == Set(["team-a", "department", "cycle-1", "cycle-2", "admins"].map(Self.group)))
                #expect(lookup.user?.containers == ["ou=engineering,ou=people,\(Self.suffix)", "ou=people,\(Self.suffix)", Self.suffix, "dc=org"])
                #expect(lookup.computer?.groups == [Self.group("hosts-group")])
                let bob = try await server.admin(.GET, "/api/v1/admin/directory/lookup?user=bob").decode(DirectoryLookup.self)
                #expect(bob.user?.groups == [Self.group("bobs")])
                let hostile = try await server.admin(.GET, "/api/v1/admin/directory/lookup?user=*").decode(DirectoryLookup.self)
                #expect(hostile.user?.found == false)

                try await server.assign(try await server.createPrinter("Cycle"), kind: "group", value: Self.group("cycle-2").uppercased())
                try await server.assign(try await server.createPrinter("Engineering"), kind: "ou", value: "ou=engineering,ou=people,\(Self.suffix)")
                try await server.assign(try await server.createPrinter("Hosts"), kind: "group", value: Self.group("hosts-group"))
                let onHost = try await server.enrolledAgent(hostname: "WS-1")
                let elsewhere = try await server.enrolledAgent(hostname: "ws-2")
                #expect(printerNames(try await server.plan(onHost.deviceCredential, user: "alice").body) == ["Cycle", "Engineering", "Hosts"])
                #expect(printerNames(try await server.plan(onHost.deviceCredential, user: "bob").body) == ["Hosts"])
                #expect(printerNames(try await server.plan(elsewhere.deviceCredential, user: "alice").body) == ["Cycle", "Engineering"])
                #expect(printerNames(try await server.plan(elsewhere.deviceCredential, user: "bob").body).isEmpty)

                let directory = server.server.directory
                let alice = try await directory.authenticate(user: "alice", password: "alice-secret")
                #expect(alice.isAdmin && alice.accountName == "alice" && alice.email == "alice@example.org")
                #expect(try await directory.authenticate(user: "alice@example.org", password: "alice-secret").dn == alice.dn)
                #expect(try await directory.authenticate(user: "bob", password: "bob-secret").isAdmin == false)
                await #expect(throws: DirectoryError.invalidCredentials) { _ = try await directory.authenticate(user: "alice", password: "bob-secret") }
                await #expect(throws: DirectoryError.emptyPassword) { _ = try await directory.authenticate(user: "alice", password: "") }

                let cycles = try await server.admin(.GET, "/api/v1/admin/directory/search?kind=group&q=cycle").decode(DirectorySearchPage.self)
                #expect(Set(cycles.items.map(\.name)) == ["cycle-1", "cycle-2"])
                let ous = try await server.admin(.GET, "/api/v1/admin/directory/search?kind=ou&q=eng").decode(DirectorySearchPage.self)
                #expect(ous.items.map(\.dn) == ["ou=engineering,ou=people,\(Self.suffix)"])
            }
        }
    }
}
