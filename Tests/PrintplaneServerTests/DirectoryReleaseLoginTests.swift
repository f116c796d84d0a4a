import Foundation
import PrintplaneCore
import PrintplaneTestSupport
import Sim
import Testing

@testable import PrintplaneServer

/// Pull-print release with a user's own AD password (HTTP Basic on the user API), against the
/// simulated AD over LDAPS: the directory wired in by default, no stand-in.
@Suite("Release with directory credentials")
struct DirectoryReleaseLoginTests {
    static func basic(_ user: String, _ password: String) -> [(String, String)] {
        [("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())]
    }

    @Test("a user lists their held jobs with their AD password; wrong passwords, no directory and an AD outage say so")
    func releaseWithADPassword() async throws {
        try await ADWorld.with { ad in
            try await withTestServer { server in
                let person = try #require(ad.people.first)
                let password = ad.directory.password(for: person)
                let agent = try await server.enrolledAgent()
                #expect(try await server.registerHeld(agent.deviceCredential, [PullPrintingTests.held("d1", user: person), PullPrintingTests.held("d2", user: "someone-else")]).status == 200)

                let before = try await server.request(.GET, "/api/v1/user/held-jobs", headers: Self.basic(person, password))
                #expect(before.status == 401 && before.reason == "directory_not_configured", "\(before.text)")

                try await server.configureDirectory(ad.settingsBody())
                for name in [person, "CORP\\\(person)", "\(person)@corp.example.com"] {
                    let mine = try await server.request(.GET, "/api/v1/user/held-jobs", headers: Self.basic(name, password))
                    #expect(mine.status == 200, "\(name): \(mine.text)")
                    #expect(try mine.decode(UserAPI.HeldJobList.self).items.map(\.job.jobID) == ["d1"], "only the user's own job, whatever form the name takes")
                }
                let wrong = try await server.request(.GET, "/api/v1/user/held-jobs", headers: Self.basic(person, password + "x"))
                #expect(wrong.status == 401 && wrong.reason == "invalid_credentials", "\(wrong.text)")
                let empty = try await server.request(.GET, "/api/v1/user/held-jobs", headers: Self.basic(person, ""))
                #expect(empty.status == 401 && empty.reason == "invalid_credentials", "an empty password is never an unauthenticated bind")

                ad.goDown()
                let down = try await server.request(.GET, "/api/v1/user/held-jobs", headers: Self.basic(person, password))
                #expect(down.status == 503 && down.reason == "directory_unavailable", "\(down.text)")
                #expect(down.headers.first(name: "Retry-After") != nil)
                ad.comeBack()
            }
        }
    }
}
