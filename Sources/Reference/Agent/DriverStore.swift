import NIOCore

/// A driver package as the store holds it: identified by content.
public struct StoredDriver: Sendable, Hashable {
    /// SHA-256 of the stored bytes, lowercase hex, as the store measured it.
    public var sha256: String
    public var size: Int64
    /// Where the bytes are, for stores that keep them (the daemon's file store).
    public var path: String?

    public init(sha256: String, size: Int64, path: String?) {
        self.sha256 = sha256
        self.size = size
        self.path = path
    }
}

/// A download in progress. Bytes are appended as they arrive; a cut leaves what came,
/// so the next attempt resumes with `Range`. Nothing is installed until `commit()`.
public protocol DriverPartial: Sendable {
    /// Bytes received so far.
    var receivedBytes: Int64 { get async }
    func append(_ chunk: ByteBuffer) async throws
    /// Drops what came (a server that ignored `Range` restarts from zero).
    func reset() async throws
    /// SHA-256 of every byte received, lowercase hex.
    func digest() async throws -> String
    /// Installs the verified bytes under their digest, atomically.
    func commit() async throws -> StoredDriver
    /// Throws away what came: after a failed verification.
    func discard() async
}

/// The local, content-addressed driver store. The daemon keeps files in the state
/// directory; the simulator keeps only digests and sizes (DESIGN.md §1, principle 1).
public protocol DriverStore: Sendable {
    /// The installed driver with this digest, re-measured by the store; nil when absent.
    func driver(sha256: String) async throws -> StoredDriver?
    /// Opens (or resumes) the download of `sha256`.
    func partial(sha256: String) async throws -> any DriverPartial
    /// Every installed driver.
    func installed() async throws -> [StoredDriver]
}
