import NIOCore

/// One HTTP request from the agent. `url` is absolute: the cloud server, or a LAN cache.
public struct AgentHTTPRequest: Sendable {
    public enum Method: String, Sendable { case get = "GET", post = "POST" }
    public var method: Method
    public var url: String
    public var headers: [(String, String)]
    public var body: ByteBuffer?

    public init(method: Method, url: String, headers: [(String, String)] = [], body: ByteBuffer? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// The status line and headers of an answer.
public struct AgentHTTPHead: Sendable {
    public var status: Int
    public var headers: [(String, String)]

    public init(status: Int, headers: [(String, String)]) {
        self.status = status
        self.headers = headers
    }

    /// The first value of a header, compared case-insensitively as HTTP requires.
    public func header(_ name: String) -> String? {
        self.headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }
}

/// Where a streamed download goes: told the head first, then fed the body chunk by chunk.
public protocol AgentDownloadSink: Sendable {
    /// Whether to read the body for this head; `false` drops it unread.
    func accept(_ head: AgentHTTPHead) async throws -> Bool
    func write(_ chunk: ByteBuffer) async throws
}

/// How the agent talks HTTP. The daemon uses one TLS client per process; the simulator
/// shares one pool between thousands of virtual agents. Errors thrown are transport
/// failures (connect, TLS, reset); HTTP error statuses come back as answers.
public protocol AgentHTTPTransport: Sendable {
    /// Sends a request and collects the answer's body up to `limit` bytes.
    func send(_ request: AgentHTTPRequest, limit: Int) async throws -> (AgentHTTPHead, ByteBuffer)
    /// Sends a request and streams the answer's body into `sink`, never holding it whole.
    func download(_ request: AgentHTTPRequest, into sink: some AgentDownloadSink) async throws -> AgentHTTPHead
}
