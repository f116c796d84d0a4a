import Logging
import NIOCore
import NIOSSL

/// The server half of an LDAP connection: the thin NIO handler around
/// ``LDAPServerStateMachine`` and an ``LDAPServerBackend``.
///
/// Install it after ``LDAPMessageDecoder`` (in a `ByteToMessageHandler`) and
/// ``LDAPMessageEncoder`` (in a `MessageToByteHandler`); ``configure(channel:backend:startTLS:isSecure:logger:)``
/// does exactly that. Errors on one connection end that connection only: decoding failures get a
/// Notice of Disconnection (protocolError) and a close, never a crash.
public final class LDAPServerHandler: ChannelInboundHandler {
    public typealias InboundIn = LDAPMessage
    public typealias OutboundOut = LDAPMessage

    private var stateMachine: LDAPServerStateMachine
    private let backend: any LDAPServerBackend
    private let startTLS: NIOSSLContext?
    private let logger: Logger

    public init(backend: any LDAPServerBackend, startTLS: NIOSSLContext?, isSecure: Bool, logger: Logger) {
        self.backend = backend
        self.startTLS = startTLS
        self.logger = logger
        self.stateMachine = LDAPServerStateMachine(
            isSecure: isSecure,
            startTLSAvailable: startTLS != nil,
            supportedControls: backend.supportedControls
        )
    }

    /// Adds the codec and a server handler to `channel`'s pipeline (call on its event loop).
    public static func configure(
        channel: any Channel,
        backend: any LDAPServerBackend,
        startTLS: NIOSSLContext?,
        isSecure: Bool,
        limits: LDAPMessage.Limits = .server,
        logger: Logger
    ) throws {
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(ByteToMessageHandler(LDAPMessageDecoder(limits: limits)))
        try sync.addHandler(MessageToByteHandler(LDAPMessageEncoder()))
        try sync.addHandler(LDAPServerHandler(backend: backend, startTLS: startTLS, isSecure: isSecure, logger: logger))
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = self.unwrapInboundIn(data)
        self.perform(self.stateMachine.received(message), context: context)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is LDAPCodecError || error is ByteToMessageDecoderError {
            self.logger.debug("protocol error, disconnecting", metadata: ["printplane.ldap.error": "\(error)"])
            self.perform(self.stateMachine.decodingFailed(error), context: context)
        } else {
            self.logger.debug("connection error", metadata: ["printplane.ldap.error": "\(error)"])
            self.stateMachine.closed()
            context.close(promise: nil)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.stateMachine.closed()
        context.fireChannelInactive()
    }

    private func perform(_ action: LDAPServerStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .reply(let messages):
            for message in messages { context.write(self.wrapOutboundOut(message), promise: nil) }
            context.flush()
        case .whoAmI(let messageID):
            let authzID = self.backend.authorizationID(for: self.stateMachine.session)
            let response = ExtendedResponse(result: .success, value: Array(authzID.utf8))
            context.writeAndFlush(self.wrapOutboundOut(LDAPMessage(messageID: messageID, .extendedResponse(response))), promise: nil)
        case .extended(let messageID, let request):
            let response = self.backend.extended(request, session: self.stateMachine.session)
                ?? ExtendedResponse(result: LDAPResult(.protocolError, diagnosticMessage: "unsupported extended operation \(request.name)"))
            context.writeAndFlush(self.wrapOutboundOut(LDAPMessage(messageID: messageID, .extendedResponse(response))), promise: nil)
        case .bind(let messageID, let request, let controls):
            let reply = self.backend.bind(request, controls: controls, session: self.stateMachine.session)
            if reply.result.resultCode == .success {
                self.stateMachine.bindCompleted(boundDN: reply.boundDN)
            }
            let message = LDAPMessage(messageID: messageID, .bindResponse(BindResponse(result: reply.result)))
            self.send([message], after: reply.delay, disconnect: false, context: context)
        case .search(let messageID, let request, let controls):
            let reply = self.backend.search(request, controls: controls, session: self.stateMachine.session)
            var messages: [LDAPMessage] = []
            messages.reserveCapacity(reply.entries.count + reply.references.count + 1)
            let limit = reply.disconnectAfterEntries ?? Int.max
            for entry in reply.entries.prefix(limit) {
                messages.append(LDAPMessage(messageID: messageID, .searchResultEntry(entry)))
            }
            if reply.disconnectAfterEntries == nil {
                for reference in reply.references {
                    messages.append(LDAPMessage(messageID: messageID, .searchResultReference(reference)))
                }
                messages.append(LDAPMessage(messageID: messageID, .searchResultDone(reply.result), controls: reply.controls))
            }
            self.send(messages, after: reply.delay, disconnect: reply.disconnectAfterEntries != nil, context: context)
        case .startTLS(let response):
            guard let sslContext = self.startTLS else { return }
            // Everything written so far has passed the encoder to the head, in plaintext; TLS
            // goes first in the pipeline for everything after (RFC 4511 §4.14.2).
            context.writeAndFlush(self.wrapOutboundOut(response), promise: nil)
            do {
                try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext), position: .first)
                self.stateMachine.tlsEstablished()
            } catch {
                self.logger.debug("StartTLS failed", metadata: ["printplane.ldap.error": "\(error)"])
                context.close(promise: nil)
            }
        case .disconnect(let notice):
            if let notice {
                context.writeAndFlush(self.wrapOutboundOut(notice)).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            } else {
                context.close(promise: nil)
            }
        }
    }

    private func send(_ messages: [LDAPMessage], after delay: Duration, disconnect: Bool, context: ChannelHandlerContext) {
        guard delay > .zero else {
            self.write(messages, disconnect: disconnect, context: context)
            return
        }
        let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
        context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
            guard context.channel.isActive else { return }
            self.write(messages, disconnect: disconnect, context: context)
        }
    }

    private func write(_ messages: [LDAPMessage], disconnect: Bool, context: ChannelHandlerContext) {
        guard disconnect else {
            for message in messages { context.write(self.wrapOutboundOut(message), promise: nil) }
            context.flush()
            return
        }
        // Fault injection: deliver what was sent so far, then drop the connection without a result.
        for message in messages.dropLast() { context.write(self.wrapOutboundOut(message), promise: nil) }
        guard let last = messages.last else {
            context.close(promise: nil)
            return
        }
        context.writeAndFlush(self.wrapOutboundOut(last)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
