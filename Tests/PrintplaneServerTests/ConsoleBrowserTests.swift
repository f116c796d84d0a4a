import Crypto
import Foundation
import PrintplaneCore
import SwiftASN1
import Testing
import X509

@testable import PrintplaneServer

/// The console's real peer (DESIGN.md §7): headless Chromium driven by Selenium from
/// Debian's packages, over HTTPS with the server's key pinned, never a blanket
/// ignore-certificate-errors. The browser does the work through the pages; this test
/// then checks every result through the JSON admin API.
@Suite("Admin console in a real browser (headless Chromium + Selenium)")
struct ConsoleBrowserTests {
    static let install = "apt-get install -y --no-install-recommends chromium chromium-driver python3-selenium"

    /// Base64 of the SHA-256 of the certificate's SubjectPublicKeyInfo: Chromium's
    /// `--ignore-certificate-errors-spki-list` format.
    static func spkiPin(certificatePath: String) throws -> String {
        let certificate = try Certificate(pemEncoded: String(contentsOfFile: certificatePath, encoding: .utf8))
        var serializer = DER.Serializer()
        try serializer.serialize(certificate.publicKey)
        return Data(SHA256.hash(data: serializer.serializedBytes)).base64EncodedString()
    }

    @Test("sign in, create a printer, profile, assignment and tokens, upload a driver, revoke a token, sign out")
    func browserSession() async throws {
        try ChildProcess.require("/usr/bin/chromium", install: Self.install)
        try ChildProcess.require("/usr/bin/chromedriver", install: Self.install)
        try ChildProcess.require("/usr/bin/python3", install: Self.install)
        let probe = try await ChildProcess.run("/usr/bin/python3", ["-c", "import selenium"], timeout: .seconds(30))
        guard probe.status == 0 else {
            Issue.record("Debian's python3-selenium is missing from /usr/bin/python3: run `bash scripts/bootstrap.sh` (or `\(Self.install)`): \(probe.output)")
            return
        }
        try await withTestServer { server in
            let work = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: work) }
            var generator = SystemRandomNumberGenerator()
            let driverBytes = Data((0..<20_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let driverPath = work + "/BrowserDriver-2.0.bin"
            try driverBytes.write(to: URL(fileURLWithPath: driverPath))
            let outPath = work + "/result.json"
            let pin = try Self.spkiPin(certificatePath: server.server.identity.certificatePath)

            let run = try await ChildProcess.run("/usr/bin/python3", [
                repositoryRoot + "/scripts/console-browser.py", "--base-url", server.baseURL,
                "--admin-key-file", server.server.identity.adminKeyPath, "--spki", pin,
                "--driver-file", driverPath, "--out", outPath,
            ], timeout: .seconds(240))
            #expect(run.status == 0, "console-browser.py failed:\n\(run.output)")
            guard run.status == 0 else { return }

            struct BrowserResult: Decodable {
                struct Token: Decodable { var token: String; var id: String; var label: String }
                var tokens: [Token]
                var driver_sha256: String
                var printer_id: String
            }
            let result = try JSONDecoder().decode(BrowserResult.self, from: Data(contentsOf: URL(fileURLWithPath: outPath)))

            // Everything the browser did, as the JSON admin API sees it.
            let drivers = try await server.admin(.GET, "/api/v1/admin/drivers").decode([String: [DriverRecord]].self)["items"] ?? []
            let driver = try #require(drivers.first)
            #expect(drivers.count == 1 && driver.manifest.manifest.name == "BrowserDriver" && driver.manifest.manifest.version == "2.0")
            #expect(driver.manifest.manifest.sha256 == SHA256.hash(data: driverBytes).hexString && result.driver_sha256 == driver.manifest.manifest.sha256)
            #expect(driver.manifest.manifest.size == Int64(driverBytes.count))
            #expect(throws: Never.self) { try driver.manifest.verify(contents: driverBytes, publicKey: server.server.identity.driverSigningKey.publicKey) }

            let printers = try await server.admin(.GET, "/api/v1/admin/printers").decode([String: [PrinterRecord]].self)["items"] ?? []
            let printer = try #require(printers.first)
            #expect(printers.count == 1 && printer.id.rawValue == result.printer_id)
            #expect(printer.name == "Browser Printer" && printer.address == "10.9.8.7" && printer.protocol == .lpr && printer.port == 5515)
            #expect(printer.location == "Floor 3 <east>" && printer.queue == "lp" && printer.driverID == driver.id)

            let profiles = try await server.admin(.GET, "/api/v1/admin/profiles").decode([String: [ProfileRecord]].self)["items"] ?? []
            let profile = try #require(profiles.first)
            #expect(profiles.count == 1 && profile.name == "Browser Duplex")
            #expect(profile.profile == PrintProfile(duplex: .longEdge, color: true, paper: "A4", tray: nil, copies: 2))

            let assignments = try await server.admin(.GET, "/api/v1/admin/assignments").decode([String: [Assignment]].self)["items"] ?? []
            #expect(assignments.count == 1)
            #expect(assignments.first?.printerID == printer.id && assignments.first?.profileID == profile.id && assignments.first?.target == .user("alice"))

            let tokens = try JSONSerialization.jsonObject(with: try await server.admin(.GET, "/api/v1/admin/tokens").body) as? [String: Any]
            let items = tokens?["items"] as? [[String: Any]] ?? []
            #expect(items.count == 2 && result.tokens.count == 2)
            let kept = try #require(items.first { $0["id"] as? String == result.tokens.first?.id })
            #expect(kept["label"] as? String == "Browser site" && kept["max_uses"] as? Int == 5 && kept["state"] as? String == "active")
            let revoked = try #require(items.first { $0["id"] as? String == result.tokens.last?.id })
            #expect(revoked["label"] as? String == "To revoke" && revoked["state"] as? String == "revoked")
            #expect(!items.contains { $0["token"] != nil }, "listings never carry the secret")

            // The token read off the page works once for an agent; the revoked one is refused.
            let enrolled = try await server.enroll(token: result.tokens[0].token, hostname: "browser-ws")
            #expect(enrolled.status == 201, "\(enrolled.text)")
            #expect(try await server.enroll(token: result.tokens[1].token).reason == "token_revoked")

            // Every action is audited with the console user as the actor.
            let audit = try await server.admin(.GET, "/api/v1/admin/audit").decode([String: [AuditRecord]].self)["items"] ?? []
            let consoleActions = audit.filter { $0.actor.hasPrefix("console:admin-key(ppa_") && $0.actor.hasSuffix("@127.0.0.1") }.map(\.action)
            #expect(Array(consoleActions.reversed()) == [
                "console.login", "printer.create", "profile.create", "assignment.create", "token.create", "token.create",
                "driver.upload", "printer.driver", "token.revoke", "console.logout",
            ], "\(audit.map { "\($0.actor) \($0.action)" })")
        }
    }
}
