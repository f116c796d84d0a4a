import Foundation
import LDAP
import PrintplaneCore
import PrintplaneTestSupport
import Sim
import Testing

@testable import PrintplaneServer

/// `DirectoryService.authenticate(user:password:)`, the AD login the admin console uses,
/// against the simulated AD over LDAPS.
@Suite("Directory logins")
struct DirectoryLoginTests {
    static let allStaff = "CN=All Staff,OU=Groups,\(ADWorld.baseDN)"

    @Test("right, wrong and empty passwords, disabled and unknown accounts, and admin-group membership through nesting")
    func authenticate() async throws {
        try await ADWorld.with { ad in
            try await withTestServer { server in
                let directory = server.server.directory
                await #expect(throws: DirectoryError.notConfigured) { _ = try await directory.authenticate(user: "alice", password: "x") }
                try await server.configureDirectory(ad.settingsBody(adminGroup: Self.allStaff.uppercased()))

                // A person is in All Staff only through Site Staff ⊃ Site Department ⊃ person.
                let person = try #require(ad.people.first)
                let directMembers = (ad.directory.entry(dn: Self.allStaff)?.values(of: "member") ?? []).map { DistinguishedName.normalize(String(decoding: $0, as: UTF8.self)) }
                let isDirect = directMembers.contains(DistinguishedName.normalize(ad.dn(sam: person)))
                #expect(!isDirect)
                let password = ad.directory.password(for: person)
                let principal = try await directory.authenticate(user: person, password: password)
                #expect(principal.dn == (try DistinguishedName(ad.dn(sam: person))))
                #expect(principal.accountName == person)
                #expect(principal.userPrincipalName == "\(person)@corp.example.com")
                #expect(principal.email == "\(person)@corp.example.com")
                #expect(principal.isAdmin)
                #expect(Set(principal.groups.map(\.normalized)) == ad.transitiveGroups(of: ad.dn(sam: person)))
                for form in ["CORP\\\(person)", "\(person)@corp.example.com", person.uppercased()] {
                    #expect(try await directory.authenticate(user: form, password: password).dn == principal.dn, "\(form)")
                }

                // Administrator is in no group: authenticated, but not a console admin.
                let administrator = try await directory.authenticate(user: "Administrator", password: ad.directory.password(for: "Administrator"))
                #expect(!administrator.isAdmin && administrator.groups.isEmpty)

                await #expect(throws: DirectoryError.invalidCredentials) { _ = try await directory.authenticate(user: person, password: password + "x") }
                await #expect(throws: DirectoryError.invalidCredentials) { _ = try await directory.authenticate(user: "nobody-here", password: "whatever") }
                // An empty password never reaches the directory (it would be an unauthenticated bind).
                await #expect(throws: DirectoryError.emptyPassword) { _ = try await directory.authenticate(user: person, password: "") }

                let disabled = try #require(ad.directory.people.first { $0.string("userAccountControl") == "514" }?.string("sAMAccountName"))
                await #expect(throws: DirectoryError.accountDisabled) {
                    _ = try await directory.authenticate(user: disabled, password: ad.directory.password(for: disabled))
                }

                // Logins never disturb the pooled service-account connections.
                #expect(try await server.admin(.GET, "/api/v1/admin/directory/lookup?user=\(person)").decode(DirectoryLookup.self).user?.found == true)

                // No admin group configured: nobody is an admin.
                try await server.configureDirectory(ad.settingsBody())
                #expect(try await directory.authenticate(user: person, password: password).isAdmin == false)

                ad.goDown()
                do {
                    _ = try await directory.authenticate(user: person, password: password)
                    Issue.record("a login succeeded with AD down")
                } catch let error as DirectoryError {
                    #expect(error.isUnavailability, "\(error)")
                }
            }
        }
    }
}
