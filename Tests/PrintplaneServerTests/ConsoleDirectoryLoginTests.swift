import Foundation
import PrintplaneCore
import PrintplaneTestSupport
import Sim
import Testing

@testable import PrintplaneServer

/// The admin console's directory sign-in against the simulated AD over LDAPS: the form, the
/// admin group (nested), and what a non-member, a wrong password and an AD outage get.
@Suite("Console sign-in with directory credentials")
struct ConsoleDirectoryLoginTests {
    static let allStaff = "CN=All Staff,OU=Groups,\(ADWorld.baseDN)"

    @Test("admin-group members sign in with their AD password; others, wrong passwords and an outage do not")
    func directorySignIn() async throws {
        try await ADWorld.with { ad in
            try await withTestServer { server in
                var browser = ConsoleClient(server)
                #expect(!(try await browser.get("/console/login").text.contains("name=\"username\"")), "no directory: the form asks for the admin key only")

                try await server.configureDirectory(ad.settingsBody(adminGroup: Self.allStaff))
                #expect(try await browser.get("/console/login").text.contains("name=\"username\""), "with a directory the form asks for a user name")

                // A person in All Staff only through nested groups signs in; the audit log names them.
                let person = try #require(ad.people.first)
                let password = ad.directory.password(for: person)
                let signedIn = try await browser.signIn(password, username: "CORP\\\(person)")
                #expect(signedIn.status == 303 && signedIn.headers.first(name: "Location") == "/console", "\(signedIn.status) \(signedIn.text.prefix(300))")
                #expect(try await browser.get("/console").status == 200)
                let audit = try await server.admin(.GET, "/api/v1/admin/audit?limit=5").text
                #expect(audit.contains("console:\(person)@corp.example.com@"), "\(audit.prefix(600))")

                // Administrator authenticates against AD but is in no group: not a console admin.
                var outsider = ConsoleClient(server)
                let refused = try await outsider.signIn(ad.directory.password(for: "Administrator"), username: "Administrator")
                #expect(refused.status == 401 && outsider.sessionID == nil, "\(refused.status)")

                var guesser = ConsoleClient(server)
                #expect(try await guesser.signIn(password + "x", username: person).status == 401)
                #expect(try await guesser.signIn("", username: person).status == 401, "an empty password is never an unauthenticated bind")

                // Without an admin group, no directory user gets in.
                try await server.configureDirectory(ad.settingsBody())
                var again = ConsoleClient(server)
                #expect(try await again.signIn(password, username: person).status == 401)

                // That was this address's fourth refusal: the throttle locks it out for 1 s.
                var locked = ConsoleClient(server)
                #expect(try await locked.signIn().status == 429, "even the admin key waits out the lockout")
                try await Task.sleep(for: .milliseconds(1500))

                // AD down: the sign-in is unavailable (503), not a failed attempt.
                try await server.configureDirectory(ad.settingsBody(adminGroup: Self.allStaff))
                ad.goDown()
                var during = ConsoleClient(server)
                let unavailable = try await during.signIn(password, username: person)
                #expect(unavailable.status == 503, "\(unavailable.status) \(unavailable.text.prefix(300))")
                ad.comeBack()

                // The admin key still works, whatever the directory says.
                var admin = ConsoleClient(server)
                try await admin.signedIn()
            }
        }
    }
}
