import Hummingbird
import NIOCore

/// The cache's per-request context: Hummingbird's storage plus the connection's event loop,
/// which paces streamed bodies (``FileBody``).
public struct DriverCacheRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let eventLoop: any EventLoop

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.eventLoop = source.channel.eventLoop
    }

    /// The cache takes no request bodies.
    public var maxUploadSize: Int { 16 * 1024 }
}
