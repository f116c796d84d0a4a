#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// A file being written by one connection: created under a temporary name, written as
/// bytes arrive, then synced and renamed into place, so a crash never leaves a partial
/// job looking complete. Owned by exactly one task; not `Sendable` on purpose.
final class SpoolFile {
    private var descriptor: Int32
    let temporaryPath: String
    private(set) var bytesWritten: UInt64 = 0

    init(temporaryPath: String) throws(FakePrinterError) {
        self.temporaryPath = temporaryPath
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .storage("cannot create \(temporaryPath): \(String(cString: strerror(errno)))") }
    }

    func write(_ buffer: ByteBuffer) throws(FakePrinterError) {
        let result: Int = buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return -Int(errno)
                }
                offset += written
            }
            return offset
        }
        guard result >= 0 else { throw .storage("write to \(temporaryPath) failed: \(String(cString: strerror(-Int32(result))))") }
        bytesWritten += UInt64(result)
    }

    /// Syncs and moves the file to `path`.
    func commit(to path: String, sync: Bool) throws(FakePrinterError) {
        if sync, fdatasync(descriptor) != 0 { throw .storage("fdatasync \(temporaryPath): \(String(cString: strerror(errno)))") }
        close(descriptor)
        descriptor = -1
        guard rename(temporaryPath, path) == 0 else { throw .storage("rename to \(path): \(String(cString: strerror(errno)))") }
    }

    /// Throws the bytes away.
    func discard() {
        if descriptor >= 0 { close(descriptor); descriptor = -1 }
        unlink(temporaryPath)
    }

    deinit {
        if descriptor >= 0 { close(descriptor); unlink(temporaryPath) }
    }
}
