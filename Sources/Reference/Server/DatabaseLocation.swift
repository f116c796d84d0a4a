import Foundation

/// Where the server keeps its records, parsed from `--database`.
///
/// - `sqlite:PATH`, `sqlite://PATH` or a bare path: one server, the embedded default.
/// - `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…&sslrootcert=FILE]` (also
///   `postgresql://`): several server instances behind a load balancer share it (DESIGN.md §1).
///   The password may instead come from `PRINTPLANE_DATABASE_PASSWORD`, so it stays out of
///   process listings; one in the URL wins.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresSettings)

    /// A PostgreSQL server and how to reach it.
    public struct PostgresSettings: Sendable, Equatable, CustomStringConvertible {
        /// libpq's `sslmode` values that mean something to this client.
        public enum TLSMode: String, Sendable, CaseIterable {
            /// Plain TCP (a database on the same host or a private network only).
            case disable
            /// TLS when the server offers it, without checking its certificate (libpq's default).
            case prefer
            /// TLS always, without checking the certificate's name or issuer.
            case require
            /// TLS always, with the certificate checked against `sslrootcert` (or the system
            /// roots) and the host name.
            case verifyFull = "verify-full"
        }

        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var database: String
        public var tlsMode: TLSMode
        /// A PEM file of CAs to trust for `verify-full`; the system roots when `nil`.
        public var rootCertificatePath: String?

        public init(host: String, port: Int = 5432, user: String, password: String?, database: String, tlsMode: TLSMode = .prefer, rootCertificatePath: String? = nil) {
            self.host = host
            self.port = port
            self.user = user
            self.password = password
            self.database = database
            self.tlsMode = tlsMode
            self.rootCertificatePath = rootCertificatePath
        }

        /// The URL without its password, for logs.
        public var description: String {
            "postgres://\(self.user)@\(self.host.contains(":") ? "[\(self.host)]" : self.host):\(self.port)/\(self.database)?sslmode=\(self.tlsMode.rawValue)"
        }
    }

    /// Parses a `--database` value; `nil` means `DATA_DIR/printplane.sqlite`.
    public static func parse(_ text: String?, dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DatabaseLocation {
        guard let text, !text.isEmpty else {
            return .sqlite(path: (dataDirectory as NSString).appendingPathComponent("printplane.sqlite"))
        }
        if text.hasPrefix("sqlite://") { return .sqlite(path: String(text.dropFirst("sqlite://".count))) }
        if text.hasPrefix("sqlite:") { return .sqlite(path: String(text.dropFirst("sqlite:".count))) }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            return .postgres(try self.postgres(text, environment: environment))
        }
        if text.contains("://") {
            throw ServerError.invalidConfiguration("--database must be sqlite:PATH or postgres://USER@HOST:PORT/DATABASE, got a \(text.prefix(while: { $0 != ":" })): URL")
        }
        return .sqlite(path: text)
    }

    private static func postgres(_ text: String, environment: [String: String]) throws -> PostgresSettings {
        func invalid(_ why: String) -> ServerError {
            ServerError.invalidConfiguration("--database: \(why); expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require|verify-full&sslrootcert=FILE]")
        }
        guard let components = URLComponents(string: text) else { throw invalid("not a URL") }
        guard let host = components.host, !host.isEmpty else { throw invalid("no host") }
        guard let user = components.user, !user.isEmpty else { throw invalid("no user") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw invalid("no database name") }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw invalid("port \(port) is out of range") }
        var settings = PostgresSettings(
            host: host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host, port: port,
            user: user.removingPercentEncoding ?? user,
            password: components.password.map { $0.removingPercentEncoding ?? $0 } ?? environment["PRINTPLANE_DATABASE_PASSWORD"],
            database: database.removingPercentEncoding ?? database)
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = PostgresSettings.TLSMode(rawValue: value) else {
                    throw invalid("sslmode must be disable, prefer, require or verify-full, got \(item.value ?? "nothing")")
                }
                settings.tlsMode = mode
            case "sslrootcert":
                guard let path = item.value, !path.isEmpty else { throw invalid("sslrootcert needs a file") }
                settings.rootCertificatePath = path
            default:
                throw invalid("unknown parameter \(item.name)")
            }
        }
        if settings.rootCertificatePath != nil, settings.tlsMode != .verifyFull {
            throw invalid("sslrootcert is only used with sslmode=verify-full")
        }
        return settings
    }
}
