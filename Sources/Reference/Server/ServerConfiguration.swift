import Foundation
import NIOCore

/// Everything `printplane server` can be told; each field has the default the CLI uses.
public struct ServerConfiguration: Sendable {
    /// Where the database, CA, keys and driver blobs live.
    public var dataDirectory: String
    /// Host (name or IP) to bind; also goes into the generated certificate's SANs.
    public var host: String = "127.0.0.1"
    /// TCP port; 0 picks a free one (tests), read back with ``PrintplaneServer/boundPort``.
    public var port: Int = 8443
    /// A certificate chain PEM to use instead of the generated one.
    public var tlsCertificatePath: String?
    /// The private key PEM for ``tlsCertificatePath``.
    public var tlsKeyPath: String?
    /// Extra DNS names for the generated certificate (besides `localhost` and ``host``).
    public var additionalDNSNames: [String] = []
    /// `sqlite:PATH`, a bare path, `postgres://USER@HOST:PORT/DATABASE`, or `nil` for
    /// `DATA_DIR/printplane.sqlite` (see ``DatabaseLocation``).
    public var databaseURL: String?
    /// How long a PostgreSQL call may wait for the database before it answers 503
    /// (SQLite answers from the local disk and has no such wait).
    public var databaseTimeout: Duration = .seconds(10)

    /// The base interval between check-ins.
    public var checkInIntervalSeconds: Int = 300
    /// Jitter as a fraction of the interval: answers fall in `interval × (1 ± jitter)`.
    public var checkInJitter: Double = 0.2
    /// Check-ins per second above which intervals are stretched in proportion.
    public var checkInSoftRate: Double = 2_000
    /// Check-ins per second above which the server answers 503 with Retry-After.
    public var checkInHardRate: Double = 5_000

    /// Largest driver package accepted for upload.
    public var maxDriverBytes: Int64 = 512 * 1024 * 1024
    /// Driver downloads in flight at once; more get 503 + Retry-After.
    public var maxConcurrentDownloads: Int = 256
    /// Days a LAN driver cache's certificate (signed by the local CA) is valid; caches renew
    /// it when a third is left.
    public var driverCacheCertificateDays: Int = 30
    /// Largest JSON body for enroll, check-in and admin calls.
    public var maxJSONBodyBytes: Int = 256 * 1024
    /// Largest job batch body.
    public var maxJobBatchBytes: Int = 4 * 1024 * 1024
    /// Most records in one job batch.
    public var maxJobsPerBatch: Int = 1000
    /// Largest total request header size answered normally; larger gets 431 (NIO's own cap is 80 KiB).
    public var maxHeaderBytes: Int = 16 * 1024

    /// Console sessions end after this many seconds without a request.
    public var consoleIdleTimeoutSeconds: Int = 30 * 60
    /// Console sessions end this many seconds after sign-in, however active.
    public var consoleSessionLifetimeSeconds: Int = 12 * 3600
    /// The origin browsers use to reach the console (`https://print.example.com`), for the
    /// `Origin`/`Referer` check on every console POST. `nil`: `https://` plus the request's
    /// `Host`, which is right unless a reverse proxy rewrites `Host`.
    public var consoleOrigin: String?
    /// The longest a held job waits for release: a registration's expiry is capped at its
    /// hold time (and its arrival) plus this (`--held-job-ttl`).
    public var heldJobTTL: Duration = .seconds(24 * 3600)
    /// How often expired held jobs are marked expired.
    public var heldJobSweepInterval: Duration = .seconds(30)
    /// Release long-polls (`GET /agent/releases?wait=N`) held open at once; more get 503 + Retry-After.
    public var maxLongPolls: Int = 10_000
    /// The longest `wait` a long-poll may ask for, in seconds.
    public var maxLongPollSeconds: Int = 30

    /// Seconds before an idle connection (keep-alive or slow client) is closed.
    public var idleTimeoutSeconds: Int = 60

    /// The key that encrypts the directory's bind password: base64 of 32 bytes. Defaults to the
    /// `PRINTPLANE_DIRECTORY_KEY` environment variable; when nil or empty the key lives in
    /// `DATA_DIR/directory.key` (0600, created when a password is first saved).
    public var directoryKey: String? = ProcessInfo.processInfo.environment[DirectorySecretBox.environmentVariable]
    /// The `Retry-After` range (seconds) of a check-in refused with 503 `directory_unavailable`.
    public var directoryRetryAfterSeconds: ClosedRange<Int> = 30...60
    /// Cache size, pool size and back-off of the directory lookups.
    public var directoryOptions = DirectoryService.Options()

    /// The wall clock; tests inject a manual one to check expiry to the second.
    public var clock: @Sendable () -> Date = { Date() }

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    /// Parses `--listen HOST:PORT` (IPv6 as `[::1]:8443`).
    public mutating func setListen(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ServerError.invalidConfiguration("--listen must be HOST:PORT, e.g. 127.0.0.1:8443 or [::1]:8443")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ServerError.invalidConfiguration("--listen needs a host") }
        self.host = host
        self.port = port
    }

    /// The database ``databaseURL`` names (SQLite in the data directory by default).
    public var databaseLocation: DatabaseLocation {
        get throws { try DatabaseLocation.parse(self.databaseURL, dataDirectory: self.dataDirectory) }
    }
}
