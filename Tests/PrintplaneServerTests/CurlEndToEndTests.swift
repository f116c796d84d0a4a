import Foundation
import Testing

@testable import PrintplaneServer

@Suite("End to end with curl")
struct CurlEndToEndTests {
    @Test("scripts/e2e-server-curl.sh passes against a live server, using curl --cacert")
    func curlScript() async throws {
        try ChildProcess.require("/usr/bin/curl", install: "apt-get install -y curl")
        try await withTestServer { server in
            // The script bounds each curl call; bound the whole run too.
            let result = try await ChildProcess.run("/bin/bash", [repositoryRoot + "/scripts/e2e-server-curl.sh", server.baseURL, server.dataDirectory])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("e2e: all curl checks passed"), "\(result.output)")
        }
    }
}
