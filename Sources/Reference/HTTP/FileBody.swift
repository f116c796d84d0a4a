import Hummingbird
import NIOCore
import NIOPosix

/// A response body that streams part of a file from disk.
public enum FileBody {
    /// Streams `range` of the file at `path` with strict backpressure: one chunk is read,
    /// then written, and the next read waits until the socket has taken it. Memory per
    /// download is one chunk plus the channel's outbound buffer, whatever the file size.
    /// `permit` is held until the body has been written (or dropped).
    ///
    /// The writer's own backpressure only engages once the connection's event loop has seen
    /// the socket become unwritable; a producer on another thread can outrun a busy loop and
    /// queue megabytes. So after each chunk the stream hops onto the connection's event loop,
    /// which runs after the chunk has been handed to the socket, bounding what is queued.
    public static func stream(
        path: String, range: ClosedRange<Int64>, permit: DownloadLimiter.Permit?, eventLoop: any EventLoop, chunkSize: Int = 64 * 1024,
        onBytes: @escaping @Sendable (Int) -> Void
    ) -> ResponseBody {
        let fileIO = NonBlockingFileIO(threadPool: .singleton)
        let length = Int(range.upperBound - range.lowerBound + 1)
        return ResponseBody(contentLength: length) { writer in
            defer { withExtendedLifetime(permit) {} }
            let allocator = ByteBufferAllocator()
            try await fileIO.withFileHandle(path: path, mode: .read) { handle in
                var offset = range.lowerBound
                while offset <= range.upperBound {
                    let count = Int(min(Int64(chunkSize), range.upperBound - offset + 1))
                    let chunk = try await fileIO.read(fileHandle: handle, fromOffset: offset, byteCount: count, allocator: allocator)
                    guard chunk.readableBytes > 0 else { throw FileShrank(path: path) }
                    offset += Int64(chunk.readableBytes)
                    onBytes(chunk.readableBytes)
                    try await writer.write(chunk)
                    try await eventLoop.submit {}.get()
                }
            }
            try await writer.finish(nil)
        }
    }

    /// The file became shorter than its recorded size while it was being sent.
    public struct FileShrank: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "\(self.path) shrank while it was being sent" }
    }
}
