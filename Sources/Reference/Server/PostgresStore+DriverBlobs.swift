import Foundation
import Logging
import NIOCore
import PostgresNIO

extension PostgresStore: DriverBlobMirror {
    /// Rows of 1 MiB: small enough for PostgreSQL's protocol and memory, large enough that a
    /// 500 MB package is 500 rows.
    static let blobChunkBytes = 1 << 20

    public func putDriverBlob(sha256: String, size: Int64, from path: String) async throws {
        let logger = self.logger
        let chunks = Int((size + Int64(Self.blobChunkBytes) - 1) / Int64(Self.blobChunkBytes))
        try await self.transaction(timeout: .seconds(600)) { connection in
            // The head row is the lock: a second instance uploading the same package waits,
            // then sees it is there.
            let inserted = try await connection.query(
                "INSERT INTO driver_blobs (sha256, size, chunks) VALUES (\(sha256), \(size), \(chunks)) ON CONFLICT (sha256) DO NOTHING RETURNING sha256",
                logger: logger).collect()
            guard !inserted.isEmpty else { return }
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            for index in 0..<chunks {
                guard let data = try handle.read(upToCount: Self.blobChunkBytes), !data.isEmpty else {
                    throw ServerError.internalError  // the file is shorter than its size
                }
                let bytes = ByteBuffer(data: data)
                try await connection.query("INSERT INTO driver_blob_chunks (sha256, chunk, data) VALUES (\(sha256), \(index), \(bytes))", logger: logger)
            }
        }
    }

    public func getDriverBlob(sha256: String, to path: String) async throws -> Bool {
        let logger = self.logger
        return try await self.snapshot(timeout: .seconds(600)) { connection in
            guard let head = try await connection.query("SELECT size, chunks FROM driver_blobs WHERE sha256 = \(sha256)", logger: logger).collect().first else {
                return false
            }
            let (_, chunks) = try head.decode((Int64, Int).self)
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644]) else { throw ServerError.internalError }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            // One row at a time, so memory stays at one chunk whatever the package size.
            for index in 0..<chunks {
                guard let row = try await connection.query(
                    "SELECT data FROM driver_blob_chunks WHERE sha256 = \(sha256) AND chunk = \(index)", logger: logger
                ).collect().first else { throw ServerError.internalError }
                let bytes = try row.decode(ByteBuffer.self)
                try handle.write(contentsOf: bytes.readableBytesView)
            }
            try handle.synchronize()
            return true
        }
    }
}
