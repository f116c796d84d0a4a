import ArgumentParser
import Foundation
import PrintplaneServer

/// `printplane directory set|show|test|lookup|search|delete`: the server's Active Directory (or
/// LDAP) settings through the admin API. Thin: flags become one admin API call each.
struct DirectoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory",
        abstract: "Point the server at Active Directory (or LDAP) for group and OU targeting and AD logins.",
        discussion: """
            The server looks up users' and computers' groups (nested included) and
            OUs with a read-only service account, caches them for the TTL, and uses
            them for assignments whose target is a group or an OU. The password is
            read from a file (or stdin with -), never from the command line, and is
            stored encrypted (AES-GCM; the key is DATA_DIR/directory.key on the
            server, or PRINTPLANE_DIRECTORY_KEY in its environment).

            Every command talks HTTPS to the server, trusting only --ca-file, with
            the admin key from --admin-key-file, like `printplane token`.

            Examples:
              C="--server https://127.0.0.1:8443 --ca-file ./pp/ca.pem \\
                 --admin-key-file ./pp/admin.key"
              printplane directory test $C \\
                  --url ldaps://dc01.corp.example.com:636 \\
                  --directory-ca-file corp-ca.pem \\
                  --base-dn DC=corp,DC=example,DC=com \\
                  --bind-dn 'CORP\\svc-printplane' --bind-password-file svc.pass
              printplane directory set $C ...the same flags... --cache-ttl 10m \\
                  --admin-group 'CN=Print Admins,OU=Groups,DC=corp,DC=example,DC=com'
              printplane directory show   $C
              printplane directory test   $C    # the stored settings
              printplane directory lookup $C --user alice --computer WS-001
              printplane directory search $C --kind group --query print
              printplane directory delete $C
            """,
        subcommands: [SetSettings.self, Show.self, Test.self, Lookup.self, Search.self, Delete.self]
    )

    /// The settings flags `set` and `test` share.
    struct Settings: ParsableArguments {
        @Option(help: "ldaps://HOST[:PORT] or ldap://HOST[:PORT].")
        var url: String?

        @Flag(name: .customLong("start-tls"), help: "Upgrade an ldap:// connection with StartTLS before binding.")
        var startTLS = false

        @Option(name: .customLong("directory-ca-file"), help: "PEM of the CA to trust for the directory (default: the system roots).")
        var directoryCAFile: String?

        @Option(name: .customLong("base-dn"), help: "Where searches start, e.g. DC=corp,DC=example,DC=com.")
        var baseDN: String?

        @Option(name: .customLong("bind-dn"), help: "The read-only service account: a DN, CORP\\\\user or user@domain.")
        var bindDN: String?

        @Option(name: .customLong("bind-password-file"), help: "File holding the service account's password ('-' reads stdin). Left out: keep the stored one.")
        var bindPasswordFile: String?

        @Option(help: "auto (read the RootDSE), active_directory or generic.")
        var flavour: DirectoryFlavour = .auto

        @Option(name: .customLong("cache-ttl"), help: "How long memberships are reused: seconds, or 90s, 10m, 1h (10 s to 24 h).")
        var cacheTTL: String = "10m"

        @Option(name: .customLong("admin-group"), help: "DN of the group whose (nested) members are console admins.")
        var adminGroup: String?

        var isEmpty: Bool { self.url == nil && self.baseDN == nil && self.bindDN == nil && self.bindPasswordFile == nil }

        func input() throws -> AdminClient.DirectoryInput {
            guard let url, let baseDN, let bindDN else {
                throw ValidationError("--url, --base-dn and --bind-dn are required")
            }
            let password = try self.bindPasswordFile.map { path -> String in
                let data = path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: path))
                var text = String(decoding: data, as: UTF8.self)
                while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
                return text
            }
            let caPEM = try self.directoryCAFile.map { try String(contentsOfFile: $0, encoding: .utf8) }
            return AdminClient.DirectoryInput(
                url: url, startTLS: self.startTLS, caPEM: caPEM, baseDN: baseDN, bindDN: bindDN, bindPassword: password,
                flavour: self.flavour, cacheTTLSeconds: try Self.seconds(self.cacheTTL), adminGroupDN: self.adminGroup)
        }

        static func seconds(_ text: String) throws -> Int {
            let scales: [Character: Int] = ["s": 1, "m": 60, "h": 3600]
            if let last = text.last, let scale = scales[last], let value = Int(text.dropLast()), value > 0 { return value * scale }
            if let value = Int(text), value > 0 { return value }
            throw ValidationError("--cache-ttl must be seconds or a duration such as 90s, 10m or 1h")
        }
    }

    struct SetSettings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set (replace) the directory settings; audited on the server.",
            discussion: """
                Example:
                  printplane directory set --server https://127.0.0.1:8443 \\
                      --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem \\
                      --url ldaps://dc01.corp.example.com:636 \\
                      --directory-ca-file corp-ca.pem \\
                      --base-dn DC=corp,DC=example,DC=com \\
                      --bind-dn 'CORP\\svc-printplane' --bind-password-file svc.pass
                """)

        @OptionGroup var connection: TokenCommand.Connection
        @OptionGroup var settings: Settings

        func run() async throws {
            let input = try self.settings.input()
            let view = try await AdminClient.with(try connection.clientConfiguration()) { try await $0.setDirectory(input) }
            DirectoryCommand.print(view)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the directory settings (never the password) and the state of lookups.",
            discussion: """
                Example:
                  printplane directory show --server https://127.0.0.1:8443 \\
                      --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem
                """)

        @OptionGroup var connection: TokenCommand.Connection

        func run() async throws {
            let view = try await AdminClient.with(try connection.clientConfiguration()) { try await $0.directorySettings() }
            DirectoryCommand.print(view)
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect, bind and read the RootDSE with the given settings (or the stored ones); exit 1 if anything fails.",
            discussion: """
                Examples (the stored settings, then candidate settings):
                  printplane directory test --server https://127.0.0.1:8443 \\
                      --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem
                  printplane directory test --server https://127.0.0.1:8443 \\
                      --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem \\
                      --url ldap://10.0.0.5 --start-tls \\
                      --base-dn DC=corp,DC=example,DC=com \\
                      --bind-dn 'CORP\\svc-printplane' --bind-password-file svc.pass
                """)

        @OptionGroup var connection: TokenCommand.Connection
        @OptionGroup var settings: Settings

        func run() async throws {
            let input = self.settings.isEmpty ? nil : try self.settings.input()
            let report = try await AdminClient.with(try connection.clientConfiguration()) { try await $0.testDirectory(input) }
            Swift.print("ok:             \(report.ok)")
            if let stage = report.stage { Swift.print("failed at:      \(stage)") }
            if let reason = report.reason { Swift.print("reason:         \(reason)") }
            if let message = report.message { Swift.print("message:        \(message)") }
            Swift.print("transport:      \(report.transport)")
            if let flavour = report.flavour { Swift.print("flavour:        \(flavour) (detected: \(report.detectedFlavour ?? "-"))") }
            if let context = report.namingContext { Swift.print("naming context: \(context)") }
            Swift.print("elapsed:        \(report.elapsedMilliseconds) ms")
            for warning in report.warnings { Swift.print("warning:        \(warning)") }
            if !report.ok { throw ExitCode(1) }
        }
    }

    struct Lookup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what the server resolves for a user and/or a computer: DNs, groups (nested), OUs.",
            discussion: """
                Example:
                  printplane directory lookup --server https://127.0.0.1:8443 \\
                      --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem \\
                      --user alice --computer WS-001
                """)

        @OptionGroup var connection: TokenCommand.Connection

        @Option(help: "alice, CORP\\\\alice or alice@corp.example.com.")
        var user: String?

        @Option(help: "The computer's host name.")
        var computer: String?

        func validate() throws {
            if self.user == nil && self.computer == nil { throw ValidationError("give --user, --computer or both") }
        }

        func run() async throws {
            let lookup = try await AdminClient.with(try connection.clientConfiguration()) { try await $0.lookupDirectory(user: self.user, computer: self.computer) }
            Swift.print("flavour: \(lookup.flavour) (\(lookup.elapsedMilliseconds) ms)")
            for (label, account) in [("user", lookup.user), ("computer", lookup.computer)] {
                guard let account else { continue }
                Swift.print("\(label) \(account.query): \(account.found ? (account.dn ?? "") : "not found")")
                for group in account.groups { Swift.print("  group: \(group)") }
                for container in account.containers { Swift.print("  in:    \(container)") }
            }
        }
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find group or OU DNs to use as assignment targets.",
            discussion: """
                Example:
                  printplane directory search --server https://127.0.0.1:8443 \\
                      --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem \\
                      --kind group --query print
                """)

        @OptionGroup var connection: TokenCommand.Connection

        @Option(help: "group or ou.")
        var kind: DirectorySearchKind

        @Option(help: "A part of the name (empty: all).")
        var query: String = ""

        @Option(help: "At most this many (1 to 500).")
        var limit: Int = 50

        func run() async throws {
            let page = try await AdminClient.with(try connection.clientConfiguration()) {
                try await $0.searchDirectory(kind: self.kind, query: self.query, limit: self.limit)
            }
            for item in page.items { Swift.print("\(item.dn)\t\(item.name)") }
            if page.nextOffset != nil { Swift.print("(more: raise --limit or narrow --query)") }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the directory settings; group and OU targets then match nobody.",
            discussion: """
                Example:
                  printplane directory delete --server https://127.0.0.1:8443 \\
                      --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem
                """)

        @OptionGroup var connection: TokenCommand.Connection

        func run() async throws {
            try await AdminClient.with(try connection.clientConfiguration()) { try await $0.deleteDirectory() }
            Swift.print("directory settings removed")
        }
    }

    static func print(_ view: AdminClient.DirectoryView) {
        Swift.print("url:            \(view.url)\(view.startTLS ? " (StartTLS)" : "")")
        Swift.print("base dn:        \(view.baseDN)")
        Swift.print("bind dn:        \(view.bindDN) (password \(view.bindPasswordSet ? "set" : "not set"))")
        Swift.print("ca:             \(view.caPEM == nil ? "system roots" : "given")")
        Swift.print("flavour:        \(view.flavour)\(view.status.detectedFlavour.map { " (detected: \($0))" } ?? "")")
        Swift.print("cache ttl:      \(view.cacheTTLSeconds) s")
        Swift.print("admin group:    \(view.adminGroupDN ?? "-")")
        Swift.print("state:          \(view.status.state)\(view.status.lastError.map { ": \($0)" } ?? "")")
        Swift.print("cached lookups: \(view.status.cachedLookups)")
        for warning in view.warnings { Swift.print("warning:        \(warning)") }
    }
}

extension DirectoryFlavour: ExpressibleByArgument {}
extension DirectorySearchKind: ExpressibleByArgument {}
