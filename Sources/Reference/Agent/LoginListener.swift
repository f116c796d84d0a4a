import Foundation
import Logging
import NIOCore
import NIOPosix

/// The daemon's control socket (`STATE_DIR/agent.sock`, mode 0600): a login hook runs
/// `printplane agent login USER`, which writes `login USER\n` here and reads `ok\n`.
/// One line per connection, at most 512 bytes; anything else gets `error …\n`.
public struct LoginListener: Sendable {
    public let path: String
    let signal: LoginSignal
    let logger: Logger

    public init(path: String, signal: LoginSignal, logger: Logger) {
        self.path = path
        self.signal = signal
        self.logger = logger
    }

    /// Accepts connections until cancelled.
    public func run() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 16)
            .bind(unixDomainSocketPath: self.path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Deinit-based teardown: a connection accepted during shutdown is dropped
                    // unconsumed and must close itself.
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(synchronouslyWrapping: channel)
                }
            }
        chmod(self.path, 0o600)
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await self.handle(connection) }
                }
            }
        }
    }

    private func handle(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var line = ByteBuffer()
                for try await var chunk in inbound {
                    line.writeBuffer(&chunk)
                    if line.readableBytesView.contains(UInt8(ascii: "\n")) || line.readableBytes > 512 { break }
                }
                let reply: String
                switch Self.parse(String(buffer: line)) {
                case .success(let user):
                    self.signal.post(user)
                    self.logger.info("user logged in; checking in", metadata: ["printplane.user": "\(user)"])
                    reply = "ok\n"
                case .failure(let problem):
                    reply = "error \(problem.text)\n"
                }
                try await outbound.write(ByteBuffer(string: reply))
            }
        } catch {
            self.logger.debug("control connection failed", metadata: ["printplane.error": "\(error)"])
        }
    }

    /// `login USER` with a user name of 1 to 256 printable characters.
    static func parse(_ text: String) -> Result<String, ProblemText> {
        guard let newline = text.firstIndex(of: "\n") else { return .failure(ProblemText("expected one line ending in a newline")) }
        let line = text[..<newline].trimmingCharacters(in: .init(charactersIn: "\r"))
        guard line.hasPrefix("login ") else { return .failure(ProblemText("unknown command; expected `login USER`")) }
        let user = line.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard LoginListener.isValidUser(user) else { return .failure(ProblemText("a user name is 1 to 256 printable characters")) }
        return .success(user)
    }

    /// User names as the agent reports them: printable, no control characters.
    public static func isValidUser(_ user: String) -> Bool {
        !user.isEmpty && user.utf8.count <= 256 && !user.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// Asks a running daemon to check in for `user`.
    public static func notify(path: String, user: String) async throws {
        guard FileManager.default.fileExists(atPath: path) else { throw AgentError.daemonNotRunning(path) }
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
        } catch {
            throw AgentError.daemonNotRunning(path)
        }
        let reply = try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "login \(user)\n"))
            var reply = ByteBuffer()
            for try await var chunk in inbound {
                reply.writeBuffer(&chunk)
                if reply.readableBytesView.contains(UInt8(ascii: "\n")) { break }
            }
            return String(buffer: reply)
        }
        guard reply.hasPrefix("ok") else { throw AgentError.storage("the daemon refused the login: \(reply.trimmingCharacters(in: .whitespacesAndNewlines))") }
    }
}

/// A reason the control line was refused, sent back to the client.
struct ProblemText: Error, Equatable {
    var text: String
    init(_ text: String) { self.text = text }
}
