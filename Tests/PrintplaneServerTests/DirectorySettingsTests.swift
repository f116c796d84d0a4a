import Crypto
import Foundation
import LDAP
import Logging
import PrintplaneCore
import PrintplaneTestSupport
import Sim
import Testing

@testable import PrintplaneServer

/// The directory settings: validation, the sealed password (never in clear in the database,
/// answers, audit or logs), where its key comes from, the settings test, and the audit trail.
@Suite("Directory settings")
struct DirectorySettingsTests {
    static var valid: [String: Any] { [
        "url": "ldaps://dc01.corp.example.com:636", "base_dn": "DC=corp,DC=example,DC=com", "bind_dn": "CORP\\svc-printplane",
        "bind_password": "s3cret-Pa55", "flavour": "auto",
    ] }

    static func with(_ changes: [String: Any?]) -> [String: Any] {
        var body = valid
        for (key, value) in changes { body[key] = value }
        return body
    }

    @Test("bad settings are refused with 400 and a message naming the problem; nothing is saved")
    func badSettings() async throws {
        try await withTestServer { server in
            #expect(try await server.admin(.GET, "/api/v1/admin/directory").status == 404)
            #expect(try await server.admin(.DELETE, "/api/v1/admin/directory").status == 404)
            #expect(try await server.admin(.GET, "/api/v1/admin/directory/lookup?user=alice").reason == "directory_not_configured")
            #expect(try await server.admin(.POST, "/api/v1/admin/directory/test").status == 409)
            #expect(try await server.admin(.GET, "/api/v1/admin/directory/search?kind=group").status == 409)
            let cases: [([String: Any?], String)] = [
                (["url": "http://dc01"], "ldap:// or ldaps://"),
                (["url": "ldap://"], "ldap://HOST[:PORT]"),
                (["url": "ldap://dc01:99999"], "port"),
                (["url": "ldap://dc01:abc"], "port"),
                (["url": "ldaps://dc01/DC=corp"], "nothing after the port"),
                (["url": nil], "url is required"),
                (["base_dn": "corp.example.com"], "base_dn must be a DN"),
                (["base_dn": "DC=corp,\\"], "base_dn"),
                (["bind_dn": nil], "bind_dn is required"),
                (["bind_dn": "CN=svc,garbage"], "bind_dn"),
                (["bind_password": nil], "bind_password is required"),
                (["bind_password": ""], "bind_password must not be empty"),
                (["start_tls": true], "start_tls is for ldap://"),
                (["ca_pem": "not a certificate"], "ca_pem"),
                (["cache_ttl_seconds": 5], "cache_ttl_seconds"),
                (["cache_ttl_seconds": 100_000], "cache_ttl_seconds"),
                (["admin_group_dn": "Admins"], "admin_group_dn"),
                (["flavour": "novell"], "flavour"),
            ]
            for (changes, fragment) in cases {
                let response = try await server.admin(.PUT, "/api/v1/admin/directory", json: Self.with(changes))
                #expect(response.status == 400, "\(changes): \(response.text)")
                let error = try response.decode(APIErrorBody.self)
                #expect(error.message.contains(fragment), "\(changes): \(error.message)")
                #expect(!response.text.contains("s3cret-Pa55"))
            }
            #expect(try await server.admin(.GET, "/api/v1/admin/directory").status == 404, "nothing was saved")
            #expect(try await server.server.store.auditEntries(limit: 100, offset: 0).filter { $0.action.hasPrefix("directory.") }.isEmpty)
        }
    }

    @Test("the bind password is not in the database file, any answer, the audit log or the logs")
    func passwordNeverLeaves() async throws {
        try await ADWorld.with { ad in
            let logs = RecordingLogHandler()
            let password = ad.servicePassword
            try await withTestServer(logger: logs.logger()) { server in
                let put = try await server.admin(.PUT, "/api/v1/admin/directory", json: ad.settingsBody())
                #expect(put.status == 200)
                var answers = [put.text]
                answers.append(try await server.admin(.GET, "/api/v1/admin/directory").text)
                answers.append(try await server.admin(.POST, "/api/v1/admin/directory/test").text)
                answers.append(try await server.admin(.POST, "/api/v1/admin/directory/test", json: ad.settingsBody(password: "wrong-\(password)")).text)
                answers.append(try await server.admin(.GET, "/api/v1/admin/directory/lookup?user=\(ad.people[0])").text)
                answers.append(try await server.admin(.GET, "/api/v1/admin/audit").text)
                try await server.assign(try await server.createPrinter("Staff"), kind: "group", value: "CN=All Staff,OU=Groups,\(ADWorld.baseDN)")
                let agent = try await server.enrolledAgent()
                answers.append(try await server.checkIn(agent.deviceCredential, user: ad.people[0]).text)
                answers.append(try await server.request(.GET, "/metrics").text)
                for answer in answers {
                    #expect(!answer.contains(password), "an answer holds the password: \(answer.prefix(300))")
                }
                #expect(put.text.contains(#""bind_password_set":true"#))
                let audit = try await server.server.store.auditEntries(limit: 100, offset: 0)
                #expect(audit.contains { $0.action == "directory.create" && $0.detail.contains("password=changed") })
                #expect(!audit.contains { $0.detail.contains(password) || $0.target.contains(password) || $0.actor.contains(password) })
                #expect(!"\(try DirectorySettings(stored: try #require(try await server.server.store.directorySettings().settings), password: password))".contains(password))

                // On disk: the database and its WAL hold only the sealed box.
                let files = try FileManager.default.contentsOfDirectory(atPath: server.dataDirectory).filter { $0.hasPrefix("printplane.sqlite") }
                #expect(files.contains("printplane.sqlite"))
                for file in files {
                    let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(server.dataDirectory)/\(file)"))
                    #expect(bytes.range(of: Data(password.utf8)) == nil, "\(file) holds the password in clear")
                }
                // … and that box opens with the data directory's key to the password.
                let stored = try #require(try await server.server.store.directorySettings().settings)
                #expect(!stored.sealedBindPassword.isEmpty)
                let box = try DirectorySecretBox(source: .file("\(server.dataDirectory)/directory.key"))
                #expect(try box.open(.init(combined: stored.sealedBindPassword, keyID: stored.keyID)) == password)
            }
            let lines = logs.recorded
            #expect(lines.count > 10, "the handler recorded the server's logs")
            #expect(lines.contains { $0.contains("directory configured") })
            #expect(!lines.contains { $0.contains(password) }, "\(lines.first { $0.contains(password) } ?? "")")
        }
    }

    @Test("the key comes from DATA_DIR/directory.key (0600, created on first need) unless PRINTPLANE_DIRECTORY_KEY is given, which wins")
    func keyFromFileOrEnvironment() async throws {
        try await ADWorld.with { ad in
            let user = ad.people[0]
            // From the file.
            let fileDirectory = temporaryDirectory()
            try await withTestServer(dataDirectory: fileDirectory) { server in
                #expect(!FileManager.default.fileExists(atPath: "\(fileDirectory)/directory.key"), "not created before it is needed")
                try await server.configureDirectory(ad.settingsBody())
                let attributes = try FileManager.default.attributesOfItem(atPath: "\(fileDirectory)/directory.key")
                #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
                let key = try String(contentsOfFile: "\(fileDirectory)/directory.key", encoding: .utf8)
                #expect(Data(base64Encoded: key.trimmingCharacters(in: .whitespacesAndNewlines))?.count == 32)
                let stored = try #require(try await server.server.store.directorySettings().settings)
                #expect(stored.keyID == DirectorySecretBox.keyID(SymmetricKey(data: Data(base64Encoded: key.trimmingCharacters(in: .whitespacesAndNewlines))!)))
            }
            try await withTestServer(dataDirectory: fileDirectory) { server in
                let lookup = try await server.admin(.GET, "/api/v1/admin/directory/lookup?user=\(user)").decode(DirectoryLookup.self)
                #expect(lookup.user?.found == true, "a restart decrypts with the same file")
            }

            // From the environment: no file is written, and it wins over a file.
            let environmentDirectory = temporaryDirectory()
            try await withTestServer(dataDirectory: environmentDirectory, configure: { $0.directoryKey = testDirectoryKey }) { server in
                try await server.configureDirectory(ad.settingsBody())
                #expect(!FileManager.default.fileExists(atPath: "\(environmentDirectory)/directory.key"))
                let stored = try #require(try await server.server.store.directorySettings().settings)
                #expect(stored.keyID == DirectorySecretBox.keyID(SymmetricKey(data: Data(base64Encoded: testDirectoryKey)!)))
            }
            try await withTestServer(dataDirectory: environmentDirectory, configure: { $0.directoryKey = testDirectoryKey }) { server in
                let lookup = try await server.admin(.GET, "/api/v1/admin/directory/lookup?user=\(user)").decode(DirectoryLookup.self)
                #expect(lookup.user?.found == true)
            }
            // Started without it, the server cannot use the settings, says why, and refuses
            // group/OU check-ins rather than dropping printers; a new password fixes it.
            try await withTestServer(dataDirectory: environmentDirectory) { server in
                let shown = try await server.admin(.GET, "/api/v1/admin/directory")
                #expect(shown.text.contains(#""state":"unusable""#), "\(shown.text)")
                #expect(shown.text.contains("PUT the directory settings again"), "\(shown.text)")
                let lookup = try await server.admin(.GET, "/api/v1/admin/directory/lookup?user=\(user)")
                #expect(lookup.status == 503 && lookup.reason == "directory_unavailable", "\(lookup.text)")
                try await server.assign(try await server.createPrinter("Staff"), kind: "group", value: "CN=All Staff,OU=Groups,\(ADWorld.baseDN)")
                let agent = try await server.enrolledAgent()
                #expect(try await server.checkIn(agent.deviceCredential, user: user).reason == "directory_unavailable")
                try await server.configureDirectory(ad.settingsBody())
                #expect(printerNames(try await server.plan(agent.deviceCredential, user: user).body) == ["Staff"])
            }
        }
        // A malformed key stops the server at start with a clear message.
        var configuration = ServerConfiguration(dataDirectory: temporaryDirectory())
        configuration.port = 0
        configuration.directoryKey = "not-base64-of-32-bytes"
        do {
            _ = try PrintplaneServer.build(configuration: configuration, logger: Logger(label: "test"))
            Issue.record("a malformed key was accepted")
        } catch let error as ServerError {
            #expect(error.message.contains("PRINTPLANE_DIRECTORY_KEY") && error.message.contains("32 bytes"), "\(error)")
        }
    }

    @Test("the settings test connects, binds and reports the flavour, or says clearly what failed")
    func settingsTest() async throws {
        try await ADWorld.with { ad in
            try await withTestServer { server in
                func test(_ body: [String: Any]) async throws -> DirectoryTestReport {
                    let response = try await server.admin(.POST, "/api/v1/admin/directory/test", json: body)
                    #expect(response.status == 200, "\(response.text)")
                    return try response.decode(DirectoryTestReport.self)
                }
                let good = try await test(ad.settingsBody())
                #expect(good.ok, "\(good)")
                #expect(good.transport == "ldaps" && good.flavour == "active_directory" && good.detectedFlavour == "active_directory")
                #expect(good.namingContext == ADWorld.baseDN && good.warnings.isEmpty)
                let startTLS = try await test(ad.settingsBody(startTLS: true, flavour: "generic"))
                #expect(startTLS.ok && startTLS.transport == "starttls" && startTLS.flavour == "generic" && startTLS.detectedFlavour == "active_directory")
                var plain = ad.settingsBody()
                plain["url"] = ad.ldapURL
                let plainReport = try await test(plain)
                #expect(plainReport.ok && plainReport.transport == "plain" && plainReport.warnings.first?.contains("in clear") == true)

                let wrong = try await test(ad.settingsBody(password: "wrong"))
                #expect(!wrong.ok && wrong.stage == "bind" && wrong.reason == "directory_service_credentials_refused")
                #expect(wrong.message?.contains("data 52e") == true, "\(wrong.message ?? "")")

                var unreachable = ad.settingsBody()
                unreachable["url"] = "ldaps://127.0.0.1:\(try SlapdServer.freePort())"
                let down = try await test(unreachable)
                #expect(!down.ok && down.stage == "connect" && down.reason == "directory_unreachable", "\(down)")

                var untrusted = ad.settingsBody()
                untrusted["ca_pem"] = server.caPEM  // the control plane's CA, not the directory's
                let tls = try await test(untrusted)
                #expect(!tls.ok && tls.stage == "tls" && tls.reason == "directory_tls_failed", "\(tls)")
                var noCA = ad.settingsBody()
                noCA.removeValue(forKey: "ca_pem")  // the system roots do not know the simulated AD's CA either
                let noCAReport = try await test(noCA)
                #expect(noCAReport.reason == "directory_tls_failed", "\(noCAReport)")

                var base = ad.settingsBody()
                base["base_dn"] = "DC=elsewhere,DC=example"
                let missing = try await test(base)
                #expect(!missing.ok && missing.stage == "base_dn" && missing.reason == "directory_base_dn_not_found")
                #expect(missing.message?.contains(ADWorld.baseDN) == true, "names the real naming context: \(missing.message ?? "")")

                // Without a body, the stored settings are tested.
                try await server.configureDirectory(ad.settingsBody(password: "wrong"))
                let stored = try await server.admin(.POST, "/api/v1/admin/directory/test").decode(DirectoryTestReport.self)
                #expect(stored.reason == "directory_service_credentials_refused")
            }
        }
    }

    @Test("create, update (password kept) and delete are audited; without settings group targets simply do not match")
    func auditTrail() async throws {
        try await ADWorld.with { ad in
            try await withTestServer { server in
                try await server.configureDirectory(ad.settingsBody())
                var update = ad.settingsBody(ttl: 300)
                update.removeValue(forKey: "bind_password")
                let updated = try await server.configureDirectory(update)
                #expect(updated["cache_ttl_seconds"] as? Int == 300 && updated["bind_password_set"] as? Bool == true)
                #expect(updated["bind_password"] == nil)
                #expect(try await server.admin(.GET, "/api/v1/admin/directory/lookup?user=\(ad.people[0])").status == 200, "the kept password still binds")
                #expect(try await server.admin(.DELETE, "/api/v1/admin/directory").status == 204)
                #expect(try await server.admin(.GET, "/api/v1/admin/directory").status == 404)
                let actions = try await server.server.store.auditEntries(limit: 100, offset: 0).filter { $0.action.hasPrefix("directory.") }
                #expect(actions.map(\.action) == ["directory.delete", "directory.update", "directory.create"])
                #expect(actions[1].detail.contains("password=kept") && actions[2].detail.contains("password=changed"))
                #expect(actions.allSatisfy { $0.actor.hasPrefix("admin-key(") })

                try await server.assign(try await server.createPrinter("Staff"), kind: "group", value: "CN=All Staff,OU=Groups,\(ADWorld.baseDN)")
                try await server.assign(try await server.createPrinter("Everyone"), kind: "everyone")
                let agent = try await server.enrolledAgent()
                let answer = try await server.plan(agent.deviceCredential, user: ad.people[0])
                #expect(answer.response.status == 200)
                #expect(printerNames(answer.body) == ["Everyone"])
            }
        }
    }
}
