import ArgumentParser
import Foundation
import PrintplaneServer

/// `printplane token create|list|revoke`: enrollment tokens through the admin API.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke enrollment tokens through the admin API.",
        discussion: """
            Agents enroll with a token; each has an expiry, an optional maximum number of
            uses and a label. The server stores only its SHA-256, so a token is shown once,
            when it is created. Refused tokens are answered 401 with token_expired,
            token_revoked, token_exhausted or token_unknown.

            All three commands talk HTTPS to the server, trusting only --ca-file, and
            authenticate with the admin key from --admin-key-file (DATA_DIR/admin.key).

            Examples:
              printplane token create --server https://127.0.0.1:8443 \\
                  --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem --expires 24h --max-uses 200 --label "Site A"
              TOKEN=$(printplane token create ... --expires 30m | tail -n 1)
              printplane token list   --server https://127.0.0.1:8443 --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem
              printplane token revoke --server https://127.0.0.1:8443 --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem TOKEN_ID
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    /// The flags every token subcommand shares.
    struct Connection: ParsableArguments {
        @Option(help: "Server URL, e.g. https://127.0.0.1:8443.")
        var server: String

        @Option(name: .customLong("admin-key-file"), help: "File holding the admin API key (DATA_DIR/admin.key).")
        var adminKeyFile: String

        @Option(name: .customLong("ca-file"), help: "PEM of the CA that signed the server certificate (DATA_DIR/ca.pem).")
        var caFile: String

        func clientConfiguration() throws -> AdminClient.Configuration {
            try AdminClient.Configuration(serverURL: self.server, adminKeyFile: self.adminKeyFile, caFile: self.caFile)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it once, alone on the last line.",
            discussion: """
                Example:
                  printplane token create --server https://127.0.0.1:8443 \\
                      --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem --expires 1h --max-uses 10 --label lab
                """)

        @OptionGroup var connection: Connection

        @Option(help: "Lifetime: 30m, 1h, 6h, 24h, 48h or never.")
        var expires: String

        @Option(name: .customLong("max-uses"), help: "How many enrollments the token allows (default: unlimited).")
        var maxUses: Int?

        @Option(help: "A site or label, shown in listings.")
        var label: String?

        func run() async throws {
            let token = try await AdminClient.with(try connection.clientConfiguration()) { client in
                try await client.createToken(expiresIn: self.expires, maxUses: self.maxUses, label: self.label)
            }
            print("id:       \(token.id)")
            print("expires:  \(token.expiresAt.map { ISO8601DateFormatter().string(from: $0) } ?? "never")")
            print("max uses: \(token.maxUses.map(String.init) ?? "unlimited")")
            if let label = token.label { print("label:    \(label)") }
            print(token.token ?? "")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tokens with their state (active, expired, revoked, exhausted).",
            discussion: """
                Example:
                  printplane token list --server https://127.0.0.1:8443 --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem
                """)

        @OptionGroup var connection: Connection

        func run() async throws {
            let tokens = try await AdminClient.with(try connection.clientConfiguration()) { try await $0.listTokens() }
            let formatter = ISO8601DateFormatter()
            print(["ID", "STATE", "USES", "EXPIRES", "LABEL"].joined(separator: "\t"))
            for token in tokens {
                let uses = token.maxUses.map { "\(token.uses)/\($0)" } ?? "\(token.uses)"
                print([token.id, token.state, uses, token.expiresAt.map(formatter.string(from:)) ?? "never", token.label ?? ""].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token by ID; agents presenting it get 401 token_revoked.",
            discussion: """
                Example:
                  printplane token revoke --server https://127.0.0.1:8443 --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem 3f2c…
                """)

        @OptionGroup var connection: Connection

        @Argument(help: "The token ID (from create or list).")
        var id: String

        func run() async throws {
            let token = try await AdminClient.with(try connection.clientConfiguration()) { try await $0.revokeToken(id: self.id) }
            print("\(token.id)\t\(token.state)")
        }
    }
}
