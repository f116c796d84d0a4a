import ArgumentParser
import Logging
import PrintplaneServer
import ServiceLifecycle

/// `printplane server`: maps flags onto ``ServerConfiguration`` and runs the control plane.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the Printplane control plane (HTTPS API for agents and admins).",
        discussion: """
            On first start the server creates DATA_DIR with:
              printplane.sqlite        the database (SQLite, WAL)
              ca.pem, ca-key.pem       a private CA; give ca.pem to agents and the CLI
              server.pem, server-key.pem  a TLS certificate for --listen's host, localhost, 127.0.0.1, ::1
              driver-signing.key       the Ed25519 key that signs driver manifests
              admin.key                the admin API key (mode 0600)
              drivers/                 driver packages, named by their SHA-256
            and, when directory settings are first saved, directory.key (0600): the key
            that encrypts the directory's bind password, unless PRINTPLANE_DIRECTORY_KEY
            (base64 of 32 bytes) is set in the environment, which wins.
            It logs where each is and the CA's SHA-256 fingerprint. Later starts reuse them.
            Directory (AD) settings go through the admin API: see `printplane directory`.
            The API is HTTPS only (TLS 1.2+); there is no plain-HTTP listener.
            The admin console is at https://HOST:PORT/console (sign in with admin.key).

            Several instances behind a load balancer share one PostgreSQL database
            (--database postgres://...). Give every instance a copy of the same ca.pem,
            ca-key.pem, server.pem, server-key.pem, driver-signing.key and admin.key (start
            one instance once, then copy its data directory without the database and drivers/);
            each instance keeps a local cache of drivers/, filled from the database on demand.

            Examples:
              printplane server --data-dir /var/lib/printplane
              printplane server --data-dir ./pp --listen 0.0.0.0:8443 --dns-name print.corp.example.com
              printplane server --data-dir ./pp --tls-cert /etc/ssl/pp.pem --tls-key /etc/ssl/pp-key.pem
              PRINTPLANE_DATABASE_PASSWORD=... printplane server --data-dir ./pp \\
                  --database 'postgres://printplane@db.corp.example.com/printplane?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem'

            Then, from another shell:
              printplane token create --server https://127.0.0.1:8443 \\
                  --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem --expires 1h --max-uses 50
              curl --cacert ./pp/ca.pem https://127.0.0.1:8443/healthz
            """
    )

    @Option(name: .customLong("data-dir"), help: "Directory for the database, keys, certificates and drivers.")
    var dataDirectory: String

    @Option(help: "Address to listen on, HOST:PORT ([::1]:8443 for IPv6).")
    var listen: String = "127.0.0.1:8443"

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain to use instead of the generated one.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(name: .customLong("dns-name"), help: "Extra DNS name for the generated certificate (repeatable).")
    var dnsNames: [String] = []

    @Option(help: "Database URL: sqlite:PATH (default DATA_DIR/printplane.sqlite) or postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full (password in PRINTPLANE_DATABASE_PASSWORD).")
    var database: String?

    @Option(name: .customLong("database-timeout"), help: "Seconds a PostgreSQL call may wait for the database before the request gets 503 + Retry-After.")
    var databaseTimeout: Int = 10

    @Option(name: .customLong("checkin-interval"), help: "Base seconds between agent check-ins.")
    var checkInInterval: Int = 300

    @Option(name: .customLong("checkin-soft-rate"), help: "Check-ins/s above which intervals are stretched.")
    var softRate: Double = 2_000

    @Option(name: .customLong("checkin-hard-rate"), help: "Check-ins/s above which check-ins get 503 + Retry-After.")
    var hardRate: Double = 5_000

    @Option(name: .customLong("max-downloads"), help: "Driver downloads served at once; more get 503 + Retry-After.")
    var maxDownloads: Int = 256

    @Option(name: .customLong("max-driver-mb"), help: "Largest driver package accepted, in MiB.")
    var maxDriverMiB: Int = 512

    @Option(name: .customLong("cache-certificate-days"), help: "Days a LAN driver cache's certificate (signed by the local CA) is valid.")
    var cacheCertificateDays: Int = 30

    @Option(name: .customLong("console-origin"), help: "Origin browsers use for the console, e.g. https://print.example.com (default: https:// plus the request's Host).")
    var consoleOrigin: String?

    @Option(name: .customLong("console-idle-minutes"), help: "Console sessions end after this many minutes without a request.")
    var consoleIdleMinutes: Int = 30

    @Option(name: .customLong("console-session-hours"), help: "Console sessions end this many hours after sign-in.")
    var consoleSessionHours: Int = 12

    @Option(name: .customLong("held-job-ttl"), help: "Hours a held (pull-print) job waits for release at most before it expires.")
    var heldJobTTLHours: Double = 24

    @Option(name: .customLong("max-long-polls"), help: "Agents' release long-polls held open at once; more get 503 + Retry-After.")
    var maxLongPolls: Int = 10_000

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("exit-with-parent"), help: .hidden)
    var parentPID: Int32?

    func validate() throws {
        guard self.consoleIdleMinutes > 0, self.consoleSessionHours > 0 else {
            throw ValidationError("--console-idle-minutes and --console-session-hours must be at least 1")
        }
        if let origin = self.consoleOrigin, !(origin.hasPrefix("https://") && !origin.dropFirst(8).contains("/") && origin.count > 8) {
            throw ValidationError("--console-origin must be https://HOST[:PORT] with no path, e.g. https://print.example.com")
        }
    }

    func run() async throws {
        var configuration = ServerConfiguration(dataDirectory: self.dataDirectory)
        try configuration.setListen(self.listen)
        configuration.tlsCertificatePath = self.tlsCertificate
        configuration.tlsKeyPath = self.tlsKey
        configuration.additionalDNSNames = self.dnsNames
        configuration.databaseURL = self.database
        guard (1...825).contains(self.cacheCertificateDays) else { throw ValidationError("--cache-certificate-days must be between 1 and 825") }
        configuration.driverCacheCertificateDays = self.cacheCertificateDays
        guard (1...600).contains(self.databaseTimeout) else { throw ValidationError("--database-timeout must be between 1 and 600 seconds") }
        configuration.databaseTimeout = .seconds(self.databaseTimeout)
        configuration.checkInIntervalSeconds = self.checkInInterval
        configuration.checkInSoftRate = self.softRate
        configuration.checkInHardRate = self.hardRate
        configuration.maxConcurrentDownloads = self.maxDownloads
        configuration.maxDriverBytes = Int64(self.maxDriverMiB) * 1024 * 1024
        configuration.consoleOrigin = self.consoleOrigin
        configuration.consoleIdleTimeoutSeconds = self.consoleIdleMinutes * 60
        configuration.consoleSessionLifetimeSeconds = self.consoleSessionHours * 3600
        guard self.heldJobTTLHours > 0, self.heldJobTTLHours <= 24 * 30 else { throw ValidationError("--held-job-ttl must be more than 0 and at most 720 hours") }
        configuration.heldJobTTL = .seconds(Int64(self.heldJobTTLHours * 3600))
        guard self.maxLongPolls >= 1 else { throw ValidationError("--max-long-polls must be at least 1") }
        configuration.maxLongPolls = self.maxLongPolls

        var logger = Logger(label: "printplane.server")
        logger.logLevel = Logger.Level(rawValue: self.logLevel) ?? .info
        let server = try PrintplaneServer.build(configuration: configuration, logger: logger)
        var services: [any Service] = server.supportingServices + [server]
        if let parentPID { services.append(ParentWatch(pid: parentPID)) }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
