import Foundation
import LDAP
import PrintplaneCore
import PrintplaneTestSupport
import Sim
import Testing

@testable import PrintplaneServer

/// Group and OU targeting through the whole stack: the admin API, the server's directory
/// lookups over LDAPS/StartTLS against the simulated AD, the cache, and check-ins.
@Suite("Directory targeting against the simulated AD")
struct DirectoryTargetingTests {
    static let groupsOU = "OU=Groups,\(ADWorld.baseDN)"

    /// A user who is in `parent` only through a nested group, and one who is not in it at all.
    static func nestedMemberAndStranger(_ ad: ADWorld, parent: String) throws -> (member: String, stranger: String) {
        let parentKey = DistinguishedName.normalize(parent)
        let directMembers = Set((ad.directory.entry(dn: parent)?.values(of: "member") ?? []).map { DistinguishedName.normalize(String(decoding: $0, as: UTF8.self)) })
        let member = try #require(ad.people.first { sam in
            let dn = ad.dn(sam: sam)
            return ad.transitiveGroups(of: dn).contains(parentKey) && !directMembers.contains(DistinguishedName.normalize(dn))
        })
        let stranger = try #require(ad.people.first { !ad.transitiveGroups(of: ad.dn(sam: $0)).contains(parentKey) })
        return (member, stranger)
    }

    @Test("an assignment to a nested group reaches a user in a child group and nobody else (LDAPS)")
    func nestedGroup() async throws {
        try await ADWorld.with { ad in
            try await withTestServer { server in
                try await server.configureDirectory(ad.settingsBody())
                let parent = "CN=London Staff,\(Self.groupsOU)"
                let (member, stranger) = try Self.nestedMemberAndStranger(ad, parent: parent)
                let printer = try await server.createPrinter("London Floor 1")
                #expect(try await server.assign(printer, kind: "group", value: parent.lowercased()).status == 201)
                let agent = try await server.enrolledAgent(hostname: "laptop-not-in-ad")

                let forMember = try await server.plan(agent.deviceCredential, user: member)
                #expect(forMember.response.status == 200, "\(forMember.response.text)")
                #expect(printerNames(forMember.body) == ["London Floor 1"])
                // The same user written the other ways AD accepts.
                #expect(printerNames(try await server.plan(agent.deviceCredential, user: "CORP\\\(member)").body) == ["London Floor 1"])
                #expect(printerNames(try await server.plan(agent.deviceCredential, user: "\(member)@corp.example.com").body) == ["London Floor 1"])

                let forStranger = try await server.plan(agent.deviceCredential, user: stranger)
                #expect(forStranger.response.status == 200)
                #expect(printerNames(forStranger.body).isEmpty)
                #expect(printerNames(try await server.plan(agent.deviceCredential, user: nil).body).isEmpty)
            }
        }
    }

    @Test("an OU assignment reaches users and computers below the OU, over StartTLS")
    func organizationalUnit() async throws {
        try await ADWorld.with { ad in
            try await withTestServer { server in
                try await server.configureDirectory(ad.settingsBody(startTLS: true))
                let london = "OU=London,OU=Sites,\(ADWorld.baseDN)"
                let printer = try await server.createPrinter("London Lobby")
                #expect(try await server.assign(printer, kind: "ou", value: london).status == 201)
                let londoner = try #require(ad.people.first { ad.dn(sam: $0).lowercased().hasSuffix(london.lowercased()) })
                let outsider = try #require(ad.people.first { !ad.dn(sam: $0).lowercased().hasSuffix(london.lowercased()) })
                let computers = ad.directory.entries.filter { $0.hasObjectClass("computer") }
                let londonPC = try #require(computers.first { $0.dn.isDescendant(of: try! DistinguishedName(london)) }.flatMap { $0.string("cn") })
                let otherPC = try #require(computers.first { !$0.dn.isDescendant(of: try! DistinguishedName(london)) }.flatMap { $0.string("cn") })

                let outside = try await server.enrolledAgent(hostname: otherPC)
                #expect(printerNames(try await server.plan(outside.deviceCredential, user: londoner).body) == ["London Lobby"], "the user's entry is below the OU")
                #expect(printerNames(try await server.plan(outside.deviceCredential, user: outsider).body).isEmpty)
                // The computer's entry below the OU is enough, whoever is logged in (host names
                // are matched case-insensitively, FQDN or not).
                let inside = try await server.enrolledAgent(hostname: "\(londonPC.lowercased()).corp.example.com")
                #expect(printerNames(try await server.plan(inside.deviceCredential, user: outsider).body) == ["London Lobby"])
                #expect(printerNames(try await server.plan(inside.deviceCredential, user: nil).body) == ["London Lobby"])
            }
        }
    }

    @Test("a user assignment beats a group one for the same printer, and a group one beats an OU one")
    func precedence() async throws {
        try await ADWorld.with { ad in
            try await withTestServer { server in
                try await server.configureDirectory(ad.settingsBody())
                let parent = "CN=London Staff,\(Self.groupsOU)"
                let (member, _) = try Self.nestedMemberAndStranger(ad, parent: parent)
                let memberOU = try #require(try DistinguishedName(ad.dn(sam: member)).parent).description
                let printer = try await server.createPrinter("Shared")
                let byGroup = try await server.createProfile("by-group", copies: 2)
                let byUser = try await server.createProfile("by-user", copies: 3)
                let byOU = try await server.createProfile("by-ou", copies: 4)
                try await server.assign(printer, kind: "ou", value: memberOU, profileID: byOU)
                try await server.assign(printer, kind: "group", value: parent, profileID: byGroup)
                let agent = try await server.enrolledAgent(hostname: "ws-x")
                let copies = { (body: CheckInResponse?) in body?.plan?.printers.first?.profile.copies }
                #expect(copies(try await server.plan(agent.deviceCredential, user: member).body) == 2, "group beats OU")
                try await server.assign(printer, kind: "user", value: member.uppercased(), profileID: byUser)
                #expect(copies(try await server.plan(agent.deviceCredential, user: member).body) == 3, "user beats group")
            }
        }
    }

    @Test("a membership change in AD is seen after the TTL, and until then check-ins stay unchanged from the cache")
    func membershipChangeAfterTTL() async throws {
        try await ADWorld.with { ad in
            let clock = ManualClock()
            try await withTestServer(configure: { $0.clock = { clock.now } }) { server in
                try await server.configureDirectory(ad.settingsBody(ttl: 120))
                let group = "CN=NewYork Staff,\(Self.groupsOU)"
                let user = try #require(ad.people.first { !ad.transitiveGroups(of: ad.dn(sam: $0)).contains(DistinguishedName.normalize(group)) })
                let printer = try await server.createPrinter("NewYork Only")
                try await server.assign(printer, kind: "group", value: group)
                let agent = try await server.enrolledAgent(hostname: "ws-ttl")

                let first = try await server.plan(agent.deviceCredential, user: user)
                #expect(printerNames(first.body).isEmpty)
                let etag = try #require(first.body?.etag)
                let lookups = server.metric("printplane_directory_lookups_total")
                let hits = server.metric("printplane_directory_cache_hits_total")

                try ad.server.updateDirectory { try $0.changingMembers(of: group, adding: [ad.dn(sam: user)]) }
                // Within the TTL: the cheap path, answered from the cache without asking AD.
                for _ in 0..<5 {
                    clock.advance(20)
                    let again = try await server.plan(agent.deviceCredential, user: user, etag: etag)
                    #expect(again.body?.status == .unchanged)
                }
                #expect(server.metric("printplane_directory_lookups_total") == lookups)
                #expect(server.metric("printplane_directory_cache_hits_total") == hits + 5)

                clock.advance(21)  // 121 s after the lookup
                let after = try await server.plan(agent.deviceCredential, user: user, etag: etag)
                #expect(after.body?.status == .plan)
                #expect(printerNames(after.body) == ["NewYork Only"])
                #expect(server.metric("printplane_directory_lookups_total") == lookups + 1)

                // And back out again.
                try ad.server.updateDirectory { try $0.changingMembers(of: group, removing: [ad.dn(sam: user)]) }
                clock.advance(121)
                #expect(printerNames(try await server.plan(agent.deviceCredential, user: user, etag: after.body?.etag).body).isEmpty)
            }
        }
    }

    @Test("with AD down and a warm cache, check-ins are answered from the last known facts")
    func staleFactsWhileDown() async throws {
        try await ADWorld.with { ad in
            let clock = ManualClock()
            try await withTestServer(configure: { $0.clock = { clock.now } }) { server in
                try await server.configureDirectory(ad.settingsBody(ttl: 60))
                let parent = "CN=London Staff,\(Self.groupsOU)"
                let (member, _) = try Self.nestedMemberAndStranger(ad, parent: parent)
                try await server.assign(try await server.createPrinter("London Floor 2"), kind: "group", value: parent)
                let agent = try await server.enrolledAgent(hostname: "ws-stale")
                let warm = try await server.plan(agent.deviceCredential, user: member)
                #expect(printerNames(warm.body) == ["London Floor 2"])

                ad.goDown()
                clock.advance(61)
                // A full plan (no ETag), so the facts are needed, not just the cheap path.
                let during = try await server.plan(agent.deviceCredential, user: member)
                #expect(during.response.status == 200, "\(during.response.text)")
                #expect(printerNames(during.body) == ["London Floor 2"])
                #expect(server.metric("printplane_directory_stale_served_total") >= 1)
                #expect(server.metric("printplane_directory_lookup_errors_total") >= 1)
                // While backing off, the server does not ask the dead DC on every check-in.
                let errors = server.metric("printplane_directory_lookup_errors_total")
                _ = try await server.plan(agent.deviceCredential, user: member)
                #expect(server.metric("printplane_directory_lookup_errors_total") == errors)
                let status = try await server.admin(.GET, "/api/v1/admin/directory")
                #expect(status.text.contains(#""state":"failing""#), "\(status.text)")

                ad.comeBack()
                clock.advance(120)
                #expect(printerNames(try await server.plan(agent.deviceCredential, user: member).body) == ["London Floor 2"])
                #expect(try await server.admin(.GET, "/api/v1/admin/directory").text.contains(#""state":"ok""#))
            }
        }
    }

    @Test("with AD down and a cold cache, check-ins get 503 directory_unavailable with Retry-After; configurations without group/OU targets never ask AD")
    func coldCacheWhileDown() async throws {
        try await ADWorld.with { ad in
            try await withTestServer { server in
                try await server.configureDirectory(ad.settingsBody())
                let everyone = try await server.createPrinter("Everyone")
                try await server.assign(everyone, kind: "everyone")
                let agent = try await server.enrolledAgent(hostname: "ws-cold")
                ad.goDown()
                // No group/OU assignment yet: planning needs no directory facts at all.
                let plain = try await server.plan(agent.deviceCredential, user: "someone")
                #expect(printerNames(plain.body) == ["Everyone"])
                #expect(server.metric("printplane_directory_lookups_total") == 0)

                try await server.assign(try await server.createPrinter("Group Printer"), kind: "group", value: "CN=All Staff,\(Self.groupsOU)")
                let refused = try await server.checkIn(agent.deviceCredential, user: "someone", etag: plain.body?.etag)
                #expect(refused.status == 503)
                #expect(refused.reason == "directory_unavailable", "\(refused.text)")
                let retryAfter = try #require(refused.headers.first(name: "Retry-After").flatMap { Int($0) })
                #expect((30...60).contains(retryAfter))
                #expect(server.metric("printplane_checkin_directory_unavailable_total") == 1)
            }
        }
    }

    @Test("user and host names that look like filters match nothing and widen no search")
    func filterInjection() async throws {
        try await ADWorld.with { ad in
            try await withTestServer { server in
                try await server.configureDirectory(ad.settingsBody())
                try await server.assign(try await server.createPrinter("All Staff Printer"), kind: "group", value: "CN=All Staff,\(Self.groupsOU)")
                let agent = try await server.enrolledAgent(hostname: "*")
                let someone = try #require(ad.people.first)
                #expect(printerNames(try await server.plan(agent.deviceCredential, user: someone).body) == ["All Staff Printer"], "sanity: a real user matches")
                for hostile in ["*", "*)(uid=*", "*)(|(objectClass=*)", "\(someone.prefix(3))*", "CORP\\*", "*@corp.example.com", "*)(sAMAccountName=\(someone)", "\\2a", "\u{0}"] {
                    let answer = try await server.plan(agent.deviceCredential, user: hostile)
                    #expect(answer.response.status == 200, "\(hostile): \(answer.response.text)")
                    #expect(printerNames(answer.body).isEmpty, "\(hostile.debugDescription) matched a user")
                    var query = URLComponents()
                    query.queryItems = [URLQueryItem(name: "user", value: hostile), URLQueryItem(name: "computer", value: hostile)]
                    let lookup = try await server.admin(.GET, "/api/v1/admin/directory/lookup?\(query.percentEncodedQuery ?? "")")
                    #expect(lookup.status == 200, "\(lookup.text)")
                    let decoded = try lookup.decode(DirectoryLookup.self)
                    #expect(decoded.user?.found == false && decoded.computer?.found == false, "\(hostile.debugDescription): \(lookup.text)")
                    await #expect(throws: DirectoryError.invalidCredentials) {
                        _ = try await server.server.directory.authenticate(user: hostile, password: "anything")
                    }
                }
                // What goes on the wire is the literal value, escaped where shown as text.
                let queries = DirectoryQueries(baseDN: try DistinguishedName(ADWorld.baseDN), flavour: .activeDirectory, logger: .init(label: "test"))
                #expect(queries.userFilter(.plain("*)(uid=*")).description == #"(&(objectClass=user)(!(objectClass=computer))(sAMAccountName=\2a\29\28uid=\2a))"#)
            }
        }
    }

    @Test("concurrent check-ins for one user and computer share one lookup; the admin lookup shows what the server resolves")
    func sharedLookupAndAdminLookup() async throws {
        try await ADWorld.with { ad in
            try await withTestServer { server in
                try await server.configureDirectory(ad.settingsBody())
                try await server.assign(try await server.createPrinter("Any Group"), kind: "group", value: "CN=All Staff,\(Self.groupsOU)")
                let user = try #require(ad.people.dropFirst(3).first)
                let computer = try #require(ad.directory.entries.first { $0.hasObjectClass("computer") }?.string("cn"))
                let agent = try await server.enrolledAgent(hostname: computer)
                // Slow answers hold the first lookup open while the other check-ins arrive.
                ad.server.faults.set(SimulatedADFaults(latency: .milliseconds(800)))
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<16 { group.addTask { try await server.checkIn(agent.deviceCredential, user: user).status } }
                    for try await status in group { #expect(status == 200) }
                }
                ad.server.faults.set(SimulatedADFaults())
                #expect(server.metric("printplane_directory_lookups_total") == 1)
                let shared = server.metric("printplane_directory_shared_lookups_total")
                #expect(shared >= 1)
                #expect(shared + server.metric("printplane_directory_cache_hits_total") == 15)

                let lookup = try await server.admin(.GET, "/api/v1/admin/directory/lookup?user=\(user)&computer=\(computer)")
                #expect(lookup.status == 200, "\(lookup.text)")
                let decoded = try lookup.decode(DirectoryLookup.self)
                #expect(decoded.flavour == "active_directory")
                #expect(decoded.user?.dn.map(DistinguishedName.normalize) == DistinguishedName.normalize(ad.dn(sam: user)))
                #expect(Set(decoded.user?.groups.map(DistinguishedName.normalize) ?? []) == ad.transitiveGroups(of: ad.dn(sam: user)))
                let computerDN = try #require(ad.directory.account(named: "\(computer)$")?.dn)
                #expect(decoded.computer?.containers.first.map(DistinguishedName.normalize) == computerDN.parent?.normalized)
                #expect(Set(decoded.computer?.groups.map(DistinguishedName.normalize) ?? []) == ad.transitiveGroups(of: computerDN.description))
                #expect(try await server.admin(.GET, "/api/v1/admin/directory/lookup").status == 400)

                let search = try await server.admin(.GET, "/api/v1/admin/directory/search?kind=group&q=STAFF&limit=2")
                #expect(search.status == 200, "\(search.text)")
                let page = try search.decode(DirectorySearchPage.self)
                #expect(page.items.count == 2 && page.nextOffset == 2)
                #expect(page.items.allSatisfy { $0.name.lowercased().contains("staff") && $0.dn.hasSuffix(Self.groupsOU) })
                let rest = try await server.admin(.GET, "/api/v1/admin/directory/search?kind=group&q=staff&limit=100&offset=2").decode(DirectorySearchPage.self)
                #expect(Set((page.items + rest.items).map(\.dn)).count == page.items.count + rest.items.count)
                #expect(rest.nextOffset == nil)
                let expectedStaff = ad.directory.entries.filter { $0.hasObjectClass("group") && ($0.string("cn") ?? "").lowercased().contains("staff") }.count
                #expect(page.items.count + rest.items.count == expectedStaff)
                let ous = try await server.admin(.GET, "/api/v1/admin/directory/search?kind=ou&q=lond").decode(DirectorySearchPage.self)
                #expect(ous.items.map(\.dn) == ["OU=London,OU=Sites,\(ADWorld.baseDN)"])
                #expect(try await server.admin(.GET, "/api/v1/admin/directory/search?kind=user").status == 400)
                #expect(try await server.admin(.GET, "/api/v1/admin/directory/search?kind=group&limit=0").status == 400)
            }
        }
    }
}
