import Hummingbird
import Logging
import NIOCore
import PrintplaneCore

/// The per-request context: Hummingbird's core storage plus the peer address.
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer, for audit entries and logs.
    public let remoteAddress: SocketAddress?
    /// The connection's event loop, used to pace streamed bodies (see ``DriverRepository``).
    public let eventLoop: any EventLoop

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.eventLoop = source.channel.eventLoop
    }

    /// Bodies are collected explicitly with per-route limits (``HTTPBody``), never by default.
    public var maxUploadSize: Int { 64 * 1024 }
}
