import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// One operation in flight on an ``LDAPConnection``.
struct LDAPClientRequest: Sendable {
    var operation: LDAPMessage.ProtocolOp
    var controls: [LDAPControl]
    var timeout: Duration
    /// Nil for operations without a response (unbind, abandon).
    var promise: EventLoopPromise<LDAPClientResponse>?
}

/// Everything the server sent for one request.
public struct LDAPClientResponse: Sendable {
    /// The final PDU (BindResponse, SearchResultDone as `.searchResultDone`, ExtendedResponse, …).
    public var operation: LDAPMessage.ProtocolOp
    /// Response controls on the final PDU.
    public var controls: [LDAPControl]
    /// For searches: the entries, in the order they arrived.
    public var entries: [SearchResultEntry]
    /// For searches: continuation references.
    public var references: [SearchResultReference]
}

/// Correlates requests and responses by messageID (RFC 4511 §4.1.1.1), collects search
/// entries until SearchResultDone, and enforces per-operation timeouts.
final class LDAPClientHandler: ChannelDuplexHandler {
    typealias InboundIn = LDAPMessage
    typealias OutboundIn = LDAPClientRequest
    typealias OutboundOut = LDAPMessage

    private struct Pending {
        var promise: EventLoopPromise<LDAPClientResponse>
        var entries: [SearchResultEntry] = []
        var references: [SearchResultReference] = []
        var timeout: Scheduled<Void>?
    }

    private var pending: [Int32: Pending] = [:]
    private var nextMessageID: Int32 = 1
    private var closedError: LDAPClientError?
    /// Why the connection ended, for the ``LDAPConnection`` that owns it: a request written
    /// after the channel closed never reaches this handler (its handlers are gone) and fails
    /// with a bare "I/O on closed channel", which would hide a TLS failure behind "unreachable".
    private let closeReason: NIOLockedValueBox<LDAPClientError?>

    init(closeReason: NIOLockedValueBox<LDAPClientError?> = NIOLockedValueBox(nil)) {
        self.closeReason = closeReason
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        if let error = self.closedError {
            request.promise?.fail(error)
            promise?.fail(error)
            return
        }
        let messageID = self.nextMessageID
        self.nextMessageID = self.nextMessageID == Int32.max ? 1 : self.nextMessageID + 1
        if let responsePromise = request.promise {
            var entry = Pending(promise: responsePromise)
            entry.timeout = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(request.timeout.nanosecondsForNIO)) {
                guard let timedOut = self.pending.removeValue(forKey: messageID) else { return }
                timedOut.promise.fail(LDAPClientError.timeout(request.operation.name))
                // Tell the server to stop; its late answers are dropped by messageID.
                context.writeAndFlush(self.wrapOutboundOut(LDAPMessage(messageID: self.allocateID(), .abandonRequest(messageID: messageID))), promise: nil)
            }
            self.pending[messageID] = entry
        }
        context.write(self.wrapOutboundOut(LDAPMessage(messageID: messageID, request.operation, controls: request.controls)), promise: promise)
    }

    private func allocateID() -> Int32 {
        defer { self.nextMessageID = self.nextMessageID == Int32.max ? 1 : self.nextMessageID + 1 }
        return self.nextMessageID
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = self.unwrapInboundIn(data)
        if message.messageID == 0, case .extendedResponse(let notice) = message.protocolOp {
            self.failAll(.disconnectedByServer(notice.result))
            context.close(promise: nil)
            return
        }
        guard var entry = self.pending[message.messageID] else { return }  // abandoned or timed out
        switch message.protocolOp {
        case .searchResultEntry(let result):
            entry.entries.append(result)
            self.pending[message.messageID] = entry
        case .searchResultReference(let reference):
            entry.references.append(reference)
            self.pending[message.messageID] = entry
        default:
            self.pending[message.messageID] = nil
            entry.timeout?.cancel()
            entry.promise.succeed(LDAPClientResponse(
                operation: message.protocolOp, controls: message.controls, entries: entry.entries, references: entry.references))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Keep what kind of failure it was: a caller telling "untrusted certificate" from
        // "the server sent garbage" needs it (the directory settings test reports it).
        let failure: LDAPClientError
        switch error {
        case let error as LDAPClientError: failure = error
        case is LDAPCodecError: failure = .unexpectedResponse("\(error)")
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError: failure = .tlsFailed("\(error)")
        default: failure = .transportFailed("\(error)")
        }
        self.failAll(failure)
        context.close(promise: nil)
    }

    private func failAll(_ error: LDAPClientError) {
        if self.closedError == nil {
            self.closedError = error
            self.closeReason.withLockedValue { if $0 == nil { $0 = error } }
        }
        let pending = self.pending
        self.pending = [:]
        for (_, entry) in pending {
            entry.timeout?.cancel()
            entry.promise.fail(error)
        }
    }
}

extension LDAPMessage.ProtocolOp {
    var name: String {
        switch self {
        case .bindRequest: return "bind"
        case .searchRequest: return "search"
        case .extendedRequest(let request): return "extended operation \(request.name)"
        case .unbindRequest: return "unbind"
        case .abandonRequest: return "abandon"
        default: return "operation"
        }
    }
}
