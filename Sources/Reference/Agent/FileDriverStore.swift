import Crypto
import Foundation
import NIOCore
import PrintplaneCore

/// The daemon's driver store: `DIR/<sha256>.driver`, downloads in `DIR/<sha256>.partial`.
/// A stored file is re-hashed before it is trusted, so a file changed on disk is
/// never installed (it is removed and downloaded again).
public struct FileDriverStore: DriverStore {
    public let directory: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    func path(_ sha256: String, _ suffix: String) throws -> String {
        guard DriverManifest.isSHA256Hex(sha256) else { throw AgentError.invalidPlan("driver digest \(sha256.prefix(80)) is not 64 lowercase hex characters") }
        return "\(self.directory)/\(sha256).\(suffix)"
    }

    public func driver(sha256: String) async throws -> StoredDriver? {
        let path = try self.path(sha256, "driver")
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let (digest, size) = try Self.hash(path: path)
        guard digest == sha256 else {
            try? FileManager.default.removeItem(atPath: path)
            return nil
        }
        return StoredDriver(sha256: digest, size: size, path: path)
    }

    public func partial(sha256: String) async throws -> any DriverPartial {
        try FileDriverPartial(partialPath: try self.path(sha256, "partial"), finalPath: try self.path(sha256, "driver"), sha256: sha256)
    }

    public func installed() async throws -> [StoredDriver] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: self.directory)) ?? []
        return names.filter { $0.hasSuffix(".driver") }.sorted().compactMap { name in
            let path = "\(self.directory)/\(name)"
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
            return StoredDriver(sha256: String(name.dropLast(7)), size: size, path: path)
        }
    }

    /// SHA-256 and size of a file, read in 1 MiB pieces.
    static func hash(path: String) throws -> (String, Int64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw AgentError.storage("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
            hasher.update(data: data)
            size += Int64(data.count)
        }
        return (hasher.finalize().hexString, size)
    }
}

/// A download on disk, hashed as it is written; resumes an earlier `.partial` file.
final actor FileDriverPartial: DriverPartial {
    private let partialPath: String
    private let finalPath: String
    private let sha256: String
    private var handle: FileHandle?
    private var hasher = SHA256()
    private var size: Int64 = 0

    init(partialPath: String, finalPath: String, sha256: String) throws {
        self.partialPath = partialPath
        self.finalPath = finalPath
        self.sha256 = sha256
        if FileManager.default.fileExists(atPath: partialPath), let handle = FileHandle(forReadingAtPath: partialPath) {
            while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
                self.hasher.update(data: data)
                self.size += Int64(data.count)
            }
            try handle.close()
        } else {
            guard FileManager.default.createFile(atPath: partialPath, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw AgentError.storage("cannot create \(partialPath)")
            }
        }
    }

    var receivedBytes: Int64 { self.size }

    private func writer() throws -> FileHandle {
        if let handle { return handle }
        guard let handle = FileHandle(forWritingAtPath: self.partialPath) else { throw AgentError.storage("cannot write \(self.partialPath)") }
        try handle.seekToEnd()
        self.handle = handle
        return handle
    }

    func append(_ chunk: ByteBuffer) throws {
        let data = Data(chunk.readableBytesView)
        try self.writer().write(contentsOf: data)
        self.hasher.update(data: data)
        self.size += Int64(data.count)
    }

    func reset() throws {
        try self.handle?.close()
        self.handle = nil
        guard FileManager.default.createFile(atPath: self.partialPath, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw AgentError.storage("cannot truncate \(self.partialPath)")
        }
        self.hasher = SHA256()
        self.size = 0
    }

    func digest() -> String { self.hasher.finalize().hexString }

    func commit() throws -> StoredDriver {
        if let handle {
            try handle.synchronize()
            try handle.close()
            self.handle = nil
        }
        guard rename(self.partialPath, self.finalPath) == 0 else { throw AgentError.storage("cannot install \(self.finalPath): errno \(errno)") }
        return StoredDriver(sha256: self.sha256, size: self.size, path: self.finalPath)
    }

    func discard() {
        try? self.handle?.close()
        self.handle = nil
        try? FileManager.default.removeItem(atPath: self.partialPath)
        self.hasher = SHA256()
        self.size = 0
    }
}
