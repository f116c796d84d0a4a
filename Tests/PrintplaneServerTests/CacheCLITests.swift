import Foundation
import PrintplaneTestSupport
import PrintplaneCore
import Testing

@testable import PrintplaneServer

/// `printplane cache` as an admin runs it (docs/driver-cache.md "Set-up"): the real binary
/// enrolls with a token read from a file, is registered, runs, gets its certificate from
/// the control plane's CA, serves a package to curl, and stops on SIGTERM; bad input gets a
/// clear error.
@Suite("printplane cache: the CLI end to end")
struct CacheCLITests {
    @Test("enroll (token from @FILE), register, list, run, serve to curl, SIGTERM, delete; bad flags are clear errors")
    func endToEnd() async throws {
        let binary = try CUPSImportTests.printplaneBinary()
        try ChildProcess.require("/usr/bin/curl", install: "apt-get install -y curl")
        try await withTestServer { server in
            let work = temporaryDirectory()
            let ca = server.dataDirectory + "/ca.pem"
            try server.adminKey.write(toFile: work + "/admin.key", atomically: true, encoding: .utf8)
            let connection = ["--server", server.baseURL, "--admin-key-file", work + "/admin.key", "--ca-file", ca]
            let token = try await server.createToken(maxUses: 1).token
            try token.write(toFile: work + "/token", atomically: true, encoding: .utf8)

            // Bad input first: each names what is wrong.
            let plain = try await ChildProcess.run(binary, ["cache", "enroll", "--server", server.baseURL.replacingOccurrences(of: "https", with: "http"), "--ca-file", ca, "--token", "x", "--state-dir", work + "/c"])
            #expect(plain.status != 0 && plain.output.contains("must be an https:// URL"), "\(plain.output)")
            let noToken = try await ChildProcess.run(binary, ["cache", "enroll", "--server", server.baseURL, "--ca-file", ca, "--token", "@" + work + "/missing", "--state-dir", work + "/c"])
            #expect(noToken.status != 0 && noToken.output.contains("cannot read the token file"), "\(noToken.output)")
            let wrongToken = try await ChildProcess.run(binary, ["cache", "enroll", "--server", server.baseURL, "--ca-file", ca, "--token", "pp_bogus", "--state-dir", work + "/wrong"])
            #expect(wrongToken.status != 0 && wrongToken.output.contains("token"), "\(wrongToken.output)")
            let notEnrolled = try await ChildProcess.run(binary, ["cache", "run", "--state-dir", work + "/nothing", "--listen", "127.0.0.3:1"])
            #expect(notEnrolled.status != 0 && notEnrolled.output.contains("enroll"), "\(notEnrolled.output)")

            // 1. Enroll: the agent ID is the last line.
            let enrolled = try await ChildProcess.run(binary, ["cache", "enroll", "--server", server.baseURL, "--ca-file", ca, "--token", "@" + work + "/token", "--state-dir", work + "/cache", "--hostname", "cache-hq"])
            #expect(enrolled.status == 0, "\(enrolled.output)")
            let agentID = try #require(enrolled.output.split(separator: "\n").last.map(String.init))
            let attributes = try FileManager.default.attributesOfItem(atPath: work + "/cache/credential.json")
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let again = try await ChildProcess.run(binary, ["cache", "enroll", "--server", server.baseURL, "--ca-file", ca, "--token", token, "--state-dir", work + "/cache"])
            #expect(again.status != 0, "a state directory that holds a credential is not enrolled twice: \(again.output)")

            // 2. Register it, with a bad range refused first.
            let port = try ChildProcess.freePort()
            let url = "https://127.0.0.3:\(port)"
            let badRange = try await ChildProcess.run(binary, ["cache", "register"] + connection + ["--name", "hq", "--url", url, "--agent", agentID, "--range", "10.1.0.0/99"])
            #expect(badRange.status != 0 && badRange.output.contains("CIDR"), "\(badRange.output)")
            let registered = try await ChildProcess.run(binary, ["cache", "register"] + connection + ["--name", "hq", "--url", url, "--agent", agentID, "--range", "10.1.0.0/16"])
            #expect(registered.status == 0, "\(registered.output)")
            let cacheID = try #require(registered.output.split(separator: "\n").last?.split(separator: "\t").first.map(String.init))
            let listed = try await ChildProcess.run(binary, ["cache", "list"] + connection)
            #expect(listed.status == 0 && listed.output.contains("hq\t\(url)\t\(agentID)\t10.1.0.0/16"), "\(listed.output)")

            // 3. Run it; it gets a certificate from the CA and serves what the cloud lists.
            let driver = try await DriverTests.upload(server, Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["cache", "run", "--state-dir", work + "/cache", "--listen", "127.0.0.3:\(port)", "--log-level", "warning"]
            let exited = ExitFlag()
            process.terminationHandler = { exited.set(status: $0.terminationStatus) }
            try await ExternalTool.startWithSignalsUnblocked(process)
            defer { if process.isRunning { process.terminate() } }
            var healthy = ChildProcess.Result(status: -1, output: "")
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline, !exited.isSet {
                healthy = try await ChildProcess.run("/usr/bin/curl", ["--silent", "--show-error", "--fail", "--cacert", ca, url + "/healthz"], timeout: .seconds(10))
                if healthy.status == 0 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(healthy.status == 0 && healthy.output.contains("\"status\":\"ok\""), "\(healthy.output)")
            let output = work + "/driver.bin"
            let fetched = try await ChildProcess.run("/usr/bin/curl", ["--silent", "--show-error", "--fail", "--cacert", ca, "-o", output, url + "/drivers/\(driver.manifest.manifest.sha256)"])
            #expect(fetched.status == 0, "\(fetched.output)")
            #expect(FileManager.default.contents(atPath: output)?.count == 300_000)
            let audit = try await server.admin(.GET, "/api/v1/admin/audit").text
            #expect(audit.contains("cache.create") && audit.contains("cache.certificate.issue"))

            // SIGTERM: a graceful exit, status 0.
            process.terminate()
            let stopDeadline = ContinuousClock.now + .seconds(20)
            while !exited.isSet, ContinuousClock.now < stopDeadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(exited.isSet && exited.status == 0, "cache run ended with \(exited.status ?? -1) after SIGTERM")

            // 4. Delete it: gone from the list.
            let deleted = try await ChildProcess.run(binary, ["cache", "delete"] + connection + [cacheID])
            #expect(deleted.status == 0 && deleted.output.contains("deleted"), "\(deleted.output)")
            let empty = try await ChildProcess.run(binary, ["cache", "list"] + connection)
            #expect(empty.status == 0 && !empty.output.contains(agentID), "\(empty.output)")
        }
    }
}
