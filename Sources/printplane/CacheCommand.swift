import ArgumentParser
import Foundation
import Logging
import PrintplaneAgent
import PrintplaneCore
import PrintplaneServer
import ServiceLifecycle

/// `printplane cache enroll|run|register|list|update|delete`: the LAN driver cache and its
/// registration through the admin API (docs/driver-cache.md).
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "The LAN driver cache: agents fetch drivers from it instead of across the WAN.",
        discussion: """
            A cache is a machine on a site's LAN that fetches each driver package
            from the cloud once, verifies its SHA-256, size and Ed25519-signed
            manifest, keeps it, and serves it over HTTPS to that site's agents; they
            try it before the cloud and verify everything again. It enrolls with a
            token like an agent (so it can be revoked like any device), then an admin
            registers it with the agents it serves. Its certificate is signed by the
            control plane's CA (which agents already trust) from a CSR for its
            registered host: no manual step.

            Set-up, in order:
              # 1. on the cache machine (prints the agent ID)
              printplane cache enroll --server https://cloud.example.com:8443 \\
                  --ca-file ca.pem --token @token.txt \\
                  --state-dir /var/lib/printplane-cache
              # 2. an admin registers it: the URL agents use, the ID from
              #    step 1, and who uses it
              printplane cache register --server https://cloud.example.com:8443 \\
                  --admin-key-file admin.key --ca-file ca.pem --name hq \\
                  --url https://cache-hq.corp.example.com:8444 \\
                  --agent AGENT_ID --range 10.1.0.0/16 --site HQ
              # 3. on the cache machine
              printplane cache run --state-dir /var/lib/printplane-cache \\
                  --listen 0.0.0.0:8444

            Admin commands: register, list, update, delete (the same connection
            flags as `printplane token`). Reference: docs/driver-cache.md.
            """,
        subcommands: [Enroll.self, Run.self, Register.self, List.self, Update.self, Delete.self]
    )

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enroll this machine as a cache with a token; stores its credential (0600).",
            discussion: """
                Prints the agent ID an admin needs for `printplane cache register
                --agent`. A refused token exits 1 with its reason (token_expired,
                token_revoked, ...). --token @FILE reads the token from a file, which
                keeps it out of the shell history and `ps`.

                Example:
                  printplane cache enroll --server https://127.0.0.1:8443 \\
                      --ca-file ./pp/ca.pem --token "$TOKEN" --state-dir ./cache1
                """)

        @Option(help: "Server URL, e.g. https://127.0.0.1:8443.")
        var server: String

        @Option(name: .customLong("ca-file"), help: "PEM of the CA that signed the server certificate.")
        var caFile: String

        @Option(help: "The enrollment token (or @FILE to read it from a file).")
        var token: String

        @Option(name: .customLong("state-dir"), help: "The cache's state directory.")
        var stateDirectory: String

        @Option(help: "The host name to report (default: this machine's).")
        var hostname: String?

        func run() async throws {
            let logger = makeLogger(label: "printplane.cache", level: .warning)
            let inputs = try EnrollmentInputs(server: self.server, caFile: self.caFile, token: self.token)
            let configuration = DriverCacheConfiguration(stateDirectory: self.stateDirectory)
            let base = Agent.Machine.current(hostname: self.hostname)
            do {
                let identity = try await DriverCacheEnrollment.enroll(
                    configuration: configuration, serverURL: self.server, caPEM: inputs.caPEM, token: inputs.token,
                    machine: DriverCacheEnrollment.machine(hostname: base.hostname, machineID: base.machineID), logger: logger)
                print("enrolled as agent \(identity.agentID) (\(identity.hostname)) with \(identity.serverURL)")
                print("credential: \(self.stateDirectory)/credential.json (0600)")
                print("next: an admin runs `printplane cache register ... --agent \(identity.agentID) --url https://THIS-HOST:8444 --range CIDR`,")
                print("      then: printplane cache run --state-dir \(self.stateDirectory)")
                print(identity.agentID.rawValue)
            } catch let error as AgentError {
                throw CLIError(error.description)
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the cache: HTTPS on the LAN, packages fetched once from the cloud and verified.",
            discussion: """
                Serves GET/HEAD /drivers/{sha256} (Range, ETag/If-None-Match),
                /healthz and /metrics. Gets its certificate from the control plane's
                CA for the host of its registered URL (or --tls-name), renewing it
                when a third of its life is left; with --tls-cert/--tls-key it serves
                those instead. Keeps serving what it holds while the cloud is
                unreachable. Stops serving (502) once the cloud refuses its
                credential. SIGTERM or Ctrl-C shut it down gracefully.

                Example:
                  printplane cache run --state-dir ./cache1 --listen 0.0.0.0:8444
                """)

        @Option(name: .customLong("state-dir"), help: "The cache's state directory (made by `printplane cache enroll`).")
        var stateDirectory: String

        @Option(help: "Address to listen on, HOST:PORT.")
        var listen: String = "0.0.0.0:8444"

        @Option(name: .customLong("tls-name"), help: "A DNS name or IP to certify (repeatable; default: the registered URL's host).")
        var tlsNames: [String] = []

        @Option(name: .customLong("tls-cert"), help: "PEM certificate chain to serve instead of one from the control plane's CA.")
        var tlsCertificate: String?

        @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.")
        var tlsKey: String?

        @Option(name: .customLong("max-downloads"), help: "Downloads served at once; more get 503 + Retry-After.")
        var maxDownloads: Int = 256

        @Option(name: .customLong("refresh-interval"), help: "Seconds between fetches of the driver list from the cloud.")
        var refreshInterval: Int = 60

        @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
        var logLevel: Logger.Level = .info

        func run() async throws {
            var configuration = DriverCacheConfiguration(stateDirectory: self.stateDirectory)
            guard let colon = self.listen.lastIndex(of: ":"), let port = Int(self.listen[self.listen.index(after: colon)...]), (0...65535).contains(port) else {
                throw ValidationError("--listen must be HOST:PORT, e.g. 0.0.0.0:8444")
            }
            var host = String(self.listen[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw ValidationError("--listen needs a host") }
            guard (self.tlsCertificate == nil) == (self.tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
            guard (1...100_000).contains(self.maxDownloads), (5...86_400).contains(self.refreshInterval) else {
                throw ValidationError("--max-downloads must be 1...100000 and --refresh-interval 5...86400")
            }
            configuration.host = host
            configuration.port = port
            configuration.tlsNames = self.tlsNames
            configuration.tlsCertificatePath = self.tlsCertificate
            configuration.tlsKeyPath = self.tlsKey
            configuration.maxConcurrentDownloads = self.maxDownloads
            configuration.manifestRefreshInterval = .seconds(self.refreshInterval)
            let logger = makeLogger(label: "printplane.cache", level: self.logLevel)
            do {
                let service = try DriverCacheService(configuration: configuration, logger: logger)
                let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
                try await group.run()
            } catch let error as DriverCacheError {
                throw CLIError(error.description)
            }
        }
    }

    /// The flags every admin subcommand shares (as `printplane token`).
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

    /// The registration fields of register and update.
    struct Registration: ParsableArguments {
        @Option(help: "A name for the cache, e.g. hq.")
        var name: String

        @Option(help: "The URL agents reach it at: https://HOST[:PORT], no path.")
        var url: String

        @Option(help: "The agent ID the cache enrolled as (printed by `printplane cache enroll`).")
        var agent: String

        @Option(name: .customLong("range"), help: "Agents with an address in this CIDR range use the cache (repeatable).")
        var ranges: [String] = []

        @Option(name: .customLong("site"), help: "Printers at this site name the cache first (repeatable).")
        var sites: [String] = []

        var input: AdminClient.DriverCacheInput {
            AdminClient.DriverCacheInput(name: self.name, url: self.url, agentID: AgentID(self.agent), ranges: self.ranges, sites: self.sites)
        }
    }

    static func show(_ cache: DriverCacheRecord) {
        let formatter = ISO8601DateFormatter()
        print([
            cache.id.rawValue, cache.name, cache.url, cache.agentID.rawValue, cache.ranges.map(\.description).joined(separator: ","),
            cache.sites.joined(separator: ","), cache.certificateNotAfter.map(formatter.string(from:)) ?? "-",
        ].joined(separator: "\t"))
    }

    static let header = ["ID", "NAME", "URL", "AGENT", "RANGES", "SITES", "CERT_NOT_AFTER"].joined(separator: "\t")

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an enrolled cache: its URL and which agents use it (audited).",
            discussion: """
                Agents whose reported address lies in a --range, and printers at a
                --site, get https://HOST:PORT/drivers/<sha256> before the cloud in
                their plans from their next check-in.

                Example:
                  printplane cache register --server https://127.0.0.1:8443 \\
                      --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem \\
                      --name hq --url https://10.1.0.5:8444 --agent 6f1c… \\
                      --range 10.1.0.0/16
                """)

        @OptionGroup var connection: Connection
        @OptionGroup var registration: Registration

        func run() async throws {
            let cache = try await AdminClient.with(try connection.clientConfiguration()) { try await $0.registerDriverCache(self.registration.input) }
            print(CacheCommand.header)
            CacheCommand.show(cache)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List registered caches.",
            discussion: """
                Example:
                  printplane cache list --server https://127.0.0.1:8443 \\
                      --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem
                """)

        @OptionGroup var connection: Connection

        func run() async throws {
            let caches = try await AdminClient.with(try connection.clientConfiguration()) { try await $0.listDriverCaches() }
            print(CacheCommand.header)
            for cache in caches { CacheCommand.show(cache) }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a cache's registration (all fields; audited).",
            discussion: """
                Example:
                  printplane cache update --server https://127.0.0.1:8443 \\
                      --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem \\
                      --name hq --url https://10.1.0.6:8444 --agent 6f1c… \\
                      --range 10.1.0.0/16 CACHE_ID
                """)

        @OptionGroup var connection: Connection
        @OptionGroup var registration: Registration

        @Argument(help: "The cache ID (from register or list).")
        var id: String

        func run() async throws {
            let cache = try await AdminClient.with(try connection.clientConfiguration()) {
                try await $0.updateDriverCache(id: DriverCacheID(self.id), self.registration.input)
            }
            print(CacheCommand.header)
            CacheCommand.show(cache)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a cache from every plan (audited). Revoke its agent too to cut it off.",
            discussion: """
                Example:
                  printplane cache delete --server https://127.0.0.1:8443 \\
                      --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem CACHE_ID
                """)

        @OptionGroup var connection: Connection

        @Argument(help: "The cache ID (from register or list).")
        var id: String

        func run() async throws {
            try await AdminClient.with(try connection.clientConfiguration()) { try await $0.deleteDriverCache(id: DriverCacheID(self.id)) }
            print("\(self.id)\tdeleted")
        }
    }
}
