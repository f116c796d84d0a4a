import Foundation
import Testing

@testable import PrintplaneServer

@Suite("End to end with curl")
struct CurlEndToEndTests {
    @Test("scripts/e2e-server-curl.sh passes against a live server, using curl --cacert")
    func curlScript() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else {
            Issue.record("curl is not installed: apt-get install -y curl")
            return
        }
        try await withTestServer { server in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [repositoryRoot + "/scripts/e2e-server-curl.sh", server.baseURL, server.dataDirectory]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            // The script bounds each curl call; bound the whole run too.
            let deadline = Date().addingTimeInterval(120)
            while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 0, "\(text)")
            #expect(text.contains("e2e: all curl checks passed"), "\(text)")
        }
    }
}
