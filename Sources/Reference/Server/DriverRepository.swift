import Crypto
import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import PrintplaneCore

/// Driver packages on disk, content-addressed: `DATA_DIR/drivers/<sha256>`.
///
/// Uploads stream to a temporary file while being hashed and counted, and are
/// refused past the size limit without buffering; the final name is the digest, so
/// the same bytes are stored once and a name can never escape the directory.
public struct DriverRepository: Sendable {
    /// The blobs directory.
    public let directory: String
    /// Largest package accepted.
    public let maxBytes: Int64
    /// Where packages are shared between server instances (PostgreSQL), or `nil` for one server.
    public let mirror: (any DriverBlobMirror)?
    private let fetches = MirrorFetches()

    public init(directory: String, maxBytes: Int64, mirror: (any DriverBlobMirror)? = nil) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.mirror = mirror
    }

    /// The path of a blob; `nil` unless `sha256` is 64 lowercase hex characters.
    public func path(forSHA256 sha256: String) -> String? {
        guard DriverManifest.isSHA256Hex(sha256) else { return nil }
        return (self.directory as NSString).appendingPathComponent(sha256)
    }

    /// Stores a package from a body stream; returns its digest and size.
    public func store<Body: AsyncSequence>(_ body: Body) async throws -> (sha256: String, size: Int64) where Body.Element == ByteBuffer {
        let temporary = (self.directory as NSString).appendingPathComponent(".upload-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o644]) else {
            throw ServerError.internalError
        }
        var keep = false
        defer { if !keep { try? FileManager.default.removeItem(atPath: temporary) } }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            for try await chunk in body {
                size += Int64(chunk.readableBytes)
                if size > self.maxBytes { throw ServerError.bodyTooLarge(limit: Int(clamping: self.maxBytes)) }
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                try handle.write(contentsOf: chunk.readableBytesView)
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
        let digest = hasher.finalize().hexString
        let final = (self.directory as NSString).appendingPathComponent(digest)
        if !FileManager.default.fileExists(atPath: final) {
            try FileManager.default.moveItem(atPath: temporary, toPath: final)
            keep = true
        }
        try await self.mirror?.putDriverBlob(sha256: digest, size: size, from: final)
        return (digest, size)
    }

    /// The size of a blob, fetching it from the ``mirror`` first when this instance lacks it;
    /// `nil` when no one has it. A fetched blob is checked against its digest before it is kept.
    public func ensureLocal(sha256: String) async throws -> Int64? {
        if let size = self.size(ofSHA256: sha256) { return size }
        guard let mirror = self.mirror, let final = self.path(forSHA256: sha256) else { return nil }
        let directory = self.directory
        try await self.fetches.once(sha256) {
            guard !FileManager.default.fileExists(atPath: final) else { return }
            let temporary = (directory as NSString).appendingPathComponent(".fetch-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(atPath: temporary) }
            guard try await mirror.getDriverBlob(sha256: sha256, to: temporary) else { return }
            guard try Self.sha256(ofFile: temporary) == sha256 else {
                throw ServerError.invalidConfiguration("the shared copy of driver \(sha256) does not match its digest")
            }
            try FileManager.default.moveItem(atPath: temporary, toPath: final)
        }
        return self.size(ofSHA256: sha256)
    }

    static func sha256(ofFile path: String) throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var hasher = SHA256()
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty { hasher.update(data: data) }
        return hasher.finalize().hexString
    }

    /// The size of a stored blob, or `nil` if it is absent.
    public func size(ofSHA256 sha256: String) -> Int64? {
        guard let path = self.path(forSHA256: sha256),
              let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? NSNumber
        else { return nil }
        return size.int64Value
    }
}

/// One fetch per blob at a time: a download storm on a fresh instance fetches each package
/// from the mirror once; the first caller does the work, the others wait for its outcome.
actor MirrorFetches {
    private var waiting: [String: [CheckedContinuation<Void, any Error>]] = [:]

    func once(_ key: String, _ work: @Sendable () async throws -> Void) async throws {
        if self.waiting[key] != nil {
            try await withCheckedThrowingContinuation { self.waiting[key, default: []].append($0) }
            return
        }
        self.waiting[key] = []
        let outcome: Result<Void, any Error>
        do {
            try await work()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        for waiter in self.waiting.removeValue(forKey: key) ?? [] { waiter.resume(with: outcome) }
        try outcome.get()
    }
}
