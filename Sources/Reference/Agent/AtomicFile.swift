import Foundation

/// Writes that survive a crash: temp file, fsync, rename, so a reader sees the old
/// file or the new one, never half of either.
enum AtomicFile {
    static func write(_ data: Data, to path: String, mode: mode_t) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw AgentError.storage("cannot create \(temporary): errno \(errno)") }
        var ok = fchmod(fd, mode) == 0
        ok = ok && data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw AgentError.storage("cannot write \(path): errno \(errno)")
        }
    }
}
