import Foundation
import LDAP
import Sim
import PrintplaneTestSupport
import Testing

/// ldap-utils, which nobody here wrote, against the simulated AD.
@Suite(.serialized) struct SimulatedADLdapUtilsTests {
    static let base = "DC=corp,DC=example,DC=com"

    func bindArguments(_ directory: SimulatedDirectory) -> [String] {
        let account = SimulatedADFixture.serviceAccount(directory)
        return ["-x", "-D", account.name, "-w", account.password]
    }

    @Test func pagedLdapsearchCountsEveryUserOfA5000UserDirectory() async throws {
        try await SimulatedADFixture.withServer(SimulatedADFixture.configuration(users: 5000, groups: 200, computers: 100)) { server, addresses in
            let output = try await ExternalTool.run("ldapsearch", ["-H", "ldap://127.0.0.1:\(addresses.ldapPort)"] + self.bindArguments(server.directory)
                + ["-b", Self.base, "-E", "pr=500/noprompt", "(&(objectCategory=person)(objectClass=user))", "dn"], timeout: 120)
            #expect(output.status == 0, "\(output.stderr)")
            let dns = output.stdout.split(separator: "\n").filter { $0.hasPrefix("dn: ") }
            #expect(dns.count == 5002)  // 5,000 people + Administrator + svc-printplane
            #expect(Set(dns).count == dns.count)
            #expect(dns.count == server.directory.people.count)
            // 5,002 entries at 500 a page is 11 pages, each ending with its own result.
            #expect(output.stdout.components(separatedBy: "pagedresults: cookie=").count - 1 == 11)
        }
    }

    @Test func unpagedSearchStopsAtMaxPageSizeWithSizeLimitExceeded() async throws {
        try await SimulatedADFixture.withServer(SimulatedADFixture.configuration(users: 1500, groups: 40, computers: 10)) { server, addresses in
            let output = try await ExternalTool.run("ldapsearch", ["-H", "ldap://127.0.0.1:\(addresses.ldapPort)"] + self.bindArguments(server.directory)
                + ["-b", Self.base, "(objectClass=user)", "1.1"], timeout: 60)
            #expect(output.status == 4, "ldapsearch exits with the result code: \(output.stderr)")
            #expect(output.stdout.split(separator: "\n").filter { $0.hasPrefix("dn: ") }.count == 1000)
            #expect(output.stdout.contains("result: 4 Size limit exceeded"))
        }
    }

    @Test func inChainQueryReturnsExactlyTheTransitiveMembers() async throws {
        try await SimulatedADFixture.withServer(SimulatedADFixture.configuration(users: 800, groups: 120, computers: 10)) { server, addresses in
            let directory = server.directory
            // Expected members, walked independently of the filter evaluator: every entry
            // reachable from the group through `member`, at any depth.
            func transitiveMembers(of groupDN: String) -> Set<String> {
                var found: Set<String> = []
                var queue = [groupDN]
                while let next = queue.popLast() {
                    for member in directory.entry(dn: next)?.values(of: "member") ?? [] {
                        let dn = String(decoding: member, as: UTF8.self)
                        if found.insert(dn.lowercased()).inserted { queue.append(dn) }
                    }
                }
                return found
            }
            let groups = directory.entries.filter { $0.hasObjectClass("group") }
            // A mid-level group whose members include groups that themselves have groups.
            let nested = groups.first { group in
                group.values(of: "member").contains { value in
                    directory.entry(dn: String(decoding: value, as: UTF8.self))?.values(of: "member").contains { inner in
                        directory.entry(dn: String(decoding: inner, as: UTF8.self))?.hasObjectClass("group") == true
                    } == true
                } && !group.values(of: "memberOf").isEmpty
            }
            let candidates = [groups[0], try #require(nested)]
            for group in candidates {
                let expected = transitiveMembers(of: group.dn.description)
                let directOnly = Set(group.values(of: "member").map { String(decoding: $0, as: UTF8.self).lowercased() })
                #expect(expected.count > directOnly.count, "the group must have indirect members for this test to mean anything")
                let output = try await ExternalTool.run("ldapsearch", ["-LLL", "-H", "ldap://127.0.0.1:\(addresses.ldapPort)"] + self.bindArguments(directory)
                    + ["-b", Self.base, "-E", "pr=1000/noprompt", "-o", "ldif-wrap=no", "(memberOf:1.2.840.113556.1.4.1941:=\(group.dn.description))", "1.1"], timeout: 60)
                #expect(output.status == 0, "\(output.stderr)")
                let returned = Set(LDIFReader.entries(output.stdout).map { $0.dn.lowercased() })
                #expect(returned == expected, "\(group.dn): \(returned.symmetricDifference(expected).prefix(5))")
            }
        }
    }

    @Test func ldapwhoamiOverLDAPSAndStartTLSWithTheGeneratedCA() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            let caPath = try SimulatedADFixture.temporaryFile(server.certificateAuthority!.caCertificatePEM)
            defer { try? FileManager.default.removeItem(atPath: caPath) }
            let person = server.directory.people.first { $0.string("userAccountControl") == "512" && $0.dn.description.contains("OU=Sites") }!
            let sam = person.string("sAMAccountName")!
            let credentials = ["-x", "-D", "\(sam)@corp.example.com", "-w", server.directory.password(for: sam)]
            let environment = ["LDAPTLS_CACERT": caPath, "LDAPTLS_REQCERT": "demand"]

            let ldaps = try await ExternalTool.run("ldapwhoami", ["-H", "ldaps://127.0.0.1:\(addresses.ldapsPort!)"] + credentials, environment: environment)
            #expect(ldaps.status == 0, "\(ldaps.stderr)")
            #expect(ldaps.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "u:CORP\\\(sam)")

            let startTLS = try await ExternalTool.run("ldapwhoami", ["-ZZ", "-H", "ldap://127.0.0.1:\(addresses.ldapPort)"] + credentials, environment: environment)
            #expect(startTLS.status == 0, "\(startTLS.stderr)")
            #expect(startTLS.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "u:CORP\\\(sam)")

            // A CA the server's certificate does not chain to is refused, so the above proves trust.
            let otherCA = try SimulatedADFixture.temporaryFile(try SimulatedADCertificateAuthority(hostnames: ["127.0.0.1"]).caCertificatePEM)
            defer { try? FileManager.default.removeItem(atPath: otherCA) }
            let untrusted = try await ExternalTool.run("ldapwhoami", ["-ZZ", "-H", "ldap://127.0.0.1:\(addresses.ldapPort)"] + credentials, environment: ["LDAPTLS_CACERT": otherCA, "LDAPTLS_REQCERT": "demand"])
            #expect(untrusted.status != 0)
        }
    }

    @Test func bindsByDNUPNAndDomainUserAndADsFailureCodes() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            let directory = server.directory
            let url = "ldap://127.0.0.1:\(addresses.ldapPort)"
            let enabled = directory.people.first { $0.string("userAccountControl") == "512" && $0.dn.description.contains("OU=Sites") }!
            let sam = enabled.string("sAMAccountName")!
            let password = directory.password(for: sam)
            for name in [enabled.dn.description, "\(sam)@corp.example.com", "CORP\\\(sam)"] {
                let output = try await ExternalTool.run("ldapwhoami", ["-x", "-H", url, "-D", name, "-w", password])
                #expect(output.status == 0, "bind as \(name): \(output.stderr)")
                #expect(output.stdout.contains("u:CORP\\\(sam)"))
            }
            let wrong = try await ExternalTool.run("ldapwhoami", ["-x", "-H", url, "-D", "CORP\\\(sam)", "-w", "not-the-password"])
            #expect(wrong.status == 49)
            #expect(wrong.stderr.contains("data 52e"))

            let disabled = try #require(directory.people.first { $0.string("userAccountControl") == "514" })
            let disabledSam = disabled.string("sAMAccountName")!
            let refused = try await ExternalTool.run("ldapwhoami", ["-x", "-H", url, "-D", "CORP\\\(disabledSam)", "-w", directory.password(for: disabledSam)])
            #expect(refused.status == 49)
            #expect(refused.stderr.contains("data 533"))
        }
    }

    @Test func anonymousSearchIsRefusedButTheRootDSEIsPublic() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            let url = "ldap://127.0.0.1:\(addresses.ldapPort)"
            let anonymous = try await ExternalTool.run("ldapsearch", ["-x", "-H", url, "-b", Self.base, "(objectClass=user)"])
            #expect(anonymous.status == 1)
            #expect(anonymous.stdout.contains("successful bind must be completed"))

            let rootDSE = try await ExternalTool.run("ldapsearch", ["-x", "-LLL", "-o", "ldif-wrap=no", "-H", url, "-b", "", "-s", "base", "+", "*"])
            #expect(rootDSE.status == 0)
            let entry = try #require(LDIFReader.entries(rootDSE.stdout).first)
            #expect(entry.attributes["defaultnamingcontext"] == [Array(Self.base.utf8)])
            #expect(entry.attributes["namingcontexts"]?.contains(Array(Self.base.utf8)) == true)
            #expect(entry.attributes["supportedcontrol"]?.contains(Array("1.2.840.113556.1.4.319".utf8)) == true)
            #expect(entry.attributes["supportedldapversion"]?.contains(Array("3".utf8)) == true)
        }
    }

    @Test func faultsSwitchAtRunTimeThroughLdapexop() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            let directory = server.directory
            let url = "ldap://127.0.0.1:\(addresses.ldapPort)"
            let admin = ["-x", "-H", url, "-D", "CORP\\Administrator", "-w", directory.password(for: "Administrator")]
            let service = SimulatedADFixture.serviceAccount(directory)

            // Only the Administrator may switch faults.
            let denied = try await ExternalTool.run("ldapexop", ["-x", "-H", url, "-D", service.name, "-w", service.password, "1.3.6.1.4.1.32473.1.1:latency=10"])
            #expect(denied.status != 0)
            #expect(denied.stderr.contains("Insufficient access"), "\(denied.stderr)")

            let set = try await ExternalTool.run("ldapexop", admin + ["1.3.6.1.4.1.32473.1.1:reject-binds=on"])
            #expect(set.status == 0, "\(set.stderr)")
            #expect(server.faults.current.rejectBinds)
            let rejected = try await ExternalTool.run("ldapwhoami", ["-x", "-H", url, "-D", service.name, "-w", service.password])
            #expect(rejected.status == 49)

            _ = try await ExternalTool.run("ldapexop", admin + ["1.3.6.1.4.1.32473.1.1:refuse=on"])
            let refused = try await ExternalTool.run("ldapwhoami", ["-x", "-H", url, "-D", service.name, "-w", service.password], timeout: 10)
            #expect(refused.status != 0 && refused.status != 49, "connection should be closed: \(refused.stderr)")

            server.faults.set(SimulatedADFaults())
            let healthy = try await ExternalTool.run("ldapwhoami", ["-x", "-H", url, "-D", service.name, "-w", service.password])
            #expect(healthy.status == 0)
        }
    }
}
