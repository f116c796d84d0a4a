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

    @Test("every served route is documented and every documented route is served")
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
    }
}
