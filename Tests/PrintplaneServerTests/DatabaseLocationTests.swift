import Foundation
import Testing

@testable import PrintplaneServer

@Suite("--database URLs")
struct DatabaseLocationTests {
    @Test("SQLite: the default, sqlite:, sqlite:// and a bare path")
    func sqlite() throws {
        #expect(try DatabaseLocation.parse(nil, dataDirectory: "/var/pp") == .sqlite(path: "/var/pp/printplane.sqlite"))
        #expect(try DatabaseLocation.parse("", dataDirectory: "/var/pp") == .sqlite(path: "/var/pp/printplane.sqlite"))
        #expect(try DatabaseLocation.parse("sqlite:/srv/pp.db", dataDirectory: "/d") == .sqlite(path: "/srv/pp.db"))
        #expect(try DatabaseLocation.parse("sqlite:///srv/pp.db", dataDirectory: "/d") == .sqlite(path: "/srv/pp.db"))
        #expect(try DatabaseLocation.parse("./pp.db", dataDirectory: "/d") == .sqlite(path: "./pp.db"))
    }

    @Test("PostgreSQL: user, percent-encoded password, host, port, database and TLS settings")
    func postgres() throws {
        let parsed = try DatabaseLocation.parse("postgres://print%40plane:p%3Ass%2Fw@db.corp.example.com:6432/print_prod?sslmode=verify-full&sslrootcert=/etc/ssl/db.pem", dataDirectory: "/d", environment: [:])
        #expect(parsed == .postgres(.init(
            host: "db.corp.example.com", port: 6432, user: "print@plane", password: "p:ss/w", database: "print_prod",
            tlsMode: .verifyFull, rootCertificatePath: "/etc/ssl/db.pem")))
        let defaults = try DatabaseLocation.parse("postgresql://pp@[::1]/pp", dataDirectory: "/d", environment: [:])
        #expect(defaults == .postgres(.init(host: "::1", port: 5432, user: "pp", password: nil, database: "pp", tlsMode: .prefer)))
    }

    @Test("the password can come from PRINTPLANE_DATABASE_PASSWORD; one in the URL wins; neither is ever printed")
    func passwordFromEnvironment() throws {
        let environment = ["PRINTPLANE_DATABASE_PASSWORD": "from-env"]
        guard case .postgres(let fromEnv) = try DatabaseLocation.parse("postgres://pp@h/db", dataDirectory: "/d", environment: environment),
              case .postgres(let fromURL) = try DatabaseLocation.parse("postgres://pp:in-url@h/db", dataDirectory: "/d", environment: environment)
        else {
            Issue.record("not parsed as PostgreSQL")
            return
        }
        #expect(fromEnv.password == "from-env")
        #expect(fromURL.password == "in-url")
        #expect("\(fromURL)" == "postgres://pp@h:5432/db?sslmode=prefer")
    }

    @Test("bad URLs are refused with a sentence that says what is wrong", arguments: [
        ("mysql://u@h/db", "mysql"),
        ("postgres://h/db", "no user"),
        ("postgres://u@/db", "no host"),
        ("postgres://u@h", "no database"),
        ("postgres://u@h/a/b", "no database"),
        ("postgres://u@h/db?sslmode=sometimes", "sslmode must be"),
        ("postgres://u@h/db?sslmode=require&sslrootcert=/x.pem", "only used with sslmode=verify-full"),
        ("postgres://u@h/db?application_name=x", "unknown parameter application_name"),
    ])
    func refused(_ url: String, _ why: String) {
        let error = #expect(throws: ServerError.self) { try DatabaseLocation.parse(url, dataDirectory: "/d", environment: [:]) }
        #expect(error?.reason == "invalid_configuration")
        #expect(error.map { "\($0)".contains(why) } == true, "\(String(describing: error))")
    }
}
