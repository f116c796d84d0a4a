import Foundation

/// Shared storage for driver packages, so that every server instance can serve every driver.
///
/// With one server the `drivers/` directory is the whole truth. Several instances behind a load
/// balancer each have their own directory; an upload lands on one of them. The repository
/// therefore copies each new package into the mirror (before the driver record exists, so no
/// instance ever plans a driver it cannot fetch), and an instance that lacks a package fetches
/// it from the mirror on first request, checking its SHA-256 before serving it.
public protocol DriverBlobMirror: Sendable {
    /// Copies the file at `path`, whose digest is `sha256`, into the mirror. Idempotent.
    func putDriverBlob(sha256: String, size: Int64, from path: String) async throws
    /// Writes the package to `path` and returns `true`, or returns `false` if the mirror
    /// does not have it.
    func getDriverBlob(sha256: String, to path: String) async throws -> Bool
}
