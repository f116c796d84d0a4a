import Foundation
import Logging
import Testing

@testable import PrintplaneServer

/// The repository root, from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

@Suite("OpenAPI document")
struct OpenAPIDriftTests {
    /// (method, path) pairs under `paths:` in openapi/openapi.yaml. The file is written with
    /// paths at two spaces of indent and operations at four, which this reads line by line.
    static func documentedRoutes() throws -> Set<String> {
        let text = try String(contentsOfFile: repositoryRoot + "/openapi/openapi.yaml", encoding: .utf8)
        var routes = Set<String>()
        var inPaths = false
        var currentPath: String?
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, let first = line.first, first != " " { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path = currentPath {
                let key = line.dropFirst(4).split(separator: ":").first.map(String.init) ?? ""
                if methods.contains(key) { routes.insert("\(key.uppercased()) \(path)") }
            }
        }
        return routes
    }

    /// The rule for the HTML console: the OpenAPI document describes the JSON API, and the
    /// console (`/console/...`, HTML pages and form posts, see docs/server.md "Console") is
    /// not part of it. So the console's routes must all live under `/console`, use only GET
    /// and POST, and never appear in the document; every other route is checked against it
    /// in both directions.
    @Test("every served route is documented and every documented route is served; the console is apart")
    func noDrift() throws {
        var configuration = ServerConfiguration(dataDirectory: temporaryDirectory())
        configuration.port = 0
        let server = try PrintplaneServer.build(configuration: configuration, logger: Logger(label: "test"))
        let served = Set(server.routes.map { "\($0.method) \($0.path)" })
        let documented = try Self.documentedRoutes()
        #expect(served.count == server.routes.count, "a route is registered twice")
        #expect(served.subtracting(documented).sorted() == [], "served but not in openapi/openapi.yaml")
        #expect(documented.subtracting(served).sorted() == [], "in openapi/openapi.yaml but not served")
        #expect(documented.count > 20)

        let console = Set(server.consoleRoutes.map { "\($0.method) \($0.path)" })
        #expect(console.count == server.consoleRoutes.count, "a console route is registered twice")
        #expect(server.consoleRoutes.count > 20)
        #expect(server.consoleRoutes.allSatisfy { $0.path == "/console" || $0.path.hasPrefix("/console/") }, "console routes live under /console")
        #expect(server.consoleRoutes.allSatisfy { $0.method == "GET" || $0.method == "POST" }, "the console changes state only by POST")
        #expect(!server.routes.contains { $0.path.hasPrefix("/console") }, "no JSON route under /console")
        #expect(documented.filter { $0.contains(" /console") }.isEmpty, "the console is not in openapi/openapi.yaml")
    }
}
