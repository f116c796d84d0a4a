/// The protocol state of one server-side LDAP connection (RFC 4511 §4.2, §4.3, §4.4.1, §4.14).
///
/// A value type that turns each event into an ``Action`` for ``LDAPServerHandler`` to carry out,
/// so the rules (no requests while StartTLS is in flight, StartTLS only once, critical controls,
/// unbind closes, protocol errors disconnect with a notice) can be tested without a socket.
public struct LDAPServerStateMachine: Sendable {
    public enum Action: Equatable, Sendable {
        /// Ask the backend to decide this bind.
        case bind(messageID: Int32, BindRequest, controls: [LDAPControl])
        /// Ask the backend to run this search.
        case search(messageID: Int32, SearchRequest, controls: [LDAPControl])
        /// Answer "Who am I?" with the backend's authzId for the session.
        case whoAmI(messageID: Int32)
        /// Ask the backend for any other extended operation.
        case extended(messageID: Int32, ExtendedRequest)
        /// Send these messages.
        case reply([LDAPMessage])
        /// Send the StartTLS success response, then put TLS in front of the pipeline.
        case startTLS(LDAPMessage)
        /// Send the optional Notice of Disconnection, then close.
        case disconnect(notice: LDAPMessage?)
        /// Nothing to do (abandon of a finished operation, events after close).
        case none
    }

    private enum State: Sendable {
        case ready
        case startingTLS
        case closed
    }

    private var state: State = .ready
    /// The connection's session as the backend sees it.
    public private(set) var session: LDAPSession
    private let supportedControls: Set<String>
    private let startTLSAvailable: Bool

    public init(isSecure: Bool, startTLSAvailable: Bool, supportedControls: Set<String>) {
        self.session = LDAPSession(boundDN: nil, isSecure: isSecure)
        self.startTLSAvailable = startTLSAvailable
        self.supportedControls = supportedControls
    }

    public mutating func received(_ message: LDAPMessage) -> Action {
        switch self.state {
        case .closed:
            return .none
        case .startingTLS:
            // RFC 4511 §4.14.1: the client must not send PDUs until the StartTLS response arrives.
            return self.protocolError("request received while StartTLS was in progress")
        case .ready:
            break
        }
        let id = message.messageID
        if let critical = message.controls.first(where: { $0.criticality && !self.supportedControls.contains($0.type) }),
           message.protocolOp.expectsResponse
        {
            let result = LDAPResult(.unavailableCriticalExtension, diagnosticMessage: "critical control \(critical.type) is not supported")
            return .reply([LDAPMessage(messageID: id, message.protocolOp.errorResponse(result))])
        }
        switch message.protocolOp {
        case .bindRequest(let request):
            guard request.version == 3 else {
                return .reply([LDAPMessage(messageID: id, .bindResponse(BindResponse(result: LDAPResult(.protocolError, diagnosticMessage: "only LDAPv3 is supported"))))])
            }
            // RFC 4511 §4.2.1: a bind resets the connection to anonymous until it succeeds.
            self.session.boundDN = nil
            return .bind(messageID: id, request, controls: message.controls)
        case .searchRequest(let request):
            return .search(messageID: id, request, controls: message.controls)
        case .unbindRequest:
            self.state = .closed
            return .disconnect(notice: nil)
        case .abandonRequest:
            // Operations complete synchronously, so there is never anything left to abandon.
            return .none
        case .extendedRequest(let request):
            switch request.name {
            case ExtendedRequest.startTLSOID:
                guard self.startTLSAvailable else {
                    return .reply([LDAPMessage(messageID: id, .extendedResponse(ExtendedResponse(
                        result: LDAPResult(.protocolError, diagnosticMessage: "StartTLS is not configured"), name: ExtendedRequest.startTLSOID)))])
                }
                guard !self.session.isSecure else {
                    return .reply([LDAPMessage(messageID: id, .extendedResponse(ExtendedResponse(
                        result: LDAPResult(.operationsError, diagnosticMessage: "TLS is already established"), name: ExtendedRequest.startTLSOID)))])
                }
                self.state = .startingTLS
                return .startTLS(LDAPMessage(messageID: id, .extendedResponse(ExtendedResponse(result: .success, name: ExtendedRequest.startTLSOID))))
            case ExtendedRequest.whoAmIOID:
                return .whoAmI(messageID: id)
            default:
                return .extended(messageID: id, request)
            }
        case .unsupported(let tag):
            // The simulated directory is read-only, as the server's service account sees AD.
            let result = LDAPResult(.unwillingToPerform, diagnosticMessage: "the directory is read-only")
            if tag == 25 { return .none }  // IntermediateResponse is never a request
            return .reply([LDAPMessage(messageID: id, .result(tag: tag + 1, result))])
        case .bindResponse, .searchResultEntry, .searchResultDone, .searchResultReference, .extendedResponse, .result:
            return self.protocolError("a client sent a response PDU")
        }
    }

    /// The backend decided a bind.
    public mutating func bindCompleted(boundDN: String?) {
        self.session.boundDN = boundDN
    }

    /// TLS is now in front of the pipeline.
    public mutating func tlsEstablished() {
        if case .startingTLS = self.state { self.state = .ready }
        self.session.isSecure = true
    }

    /// The decoder could not frame or parse the input.
    public mutating func decodingFailed(_ error: any Error) -> Action {
        let reason = (error as? LDAPCodecError)?.reason ?? "\(error)"
        return self.protocolError(reason)
    }

    /// The connection closed.
    public mutating func closed() {
        self.state = .closed
    }

    private mutating func protocolError(_ reason: String) -> Action {
        guard case .closed = self.state else {
            self.state = .closed
            return .disconnect(notice: LDAPMessage(messageID: 0, .extendedResponse(.noticeOfDisconnection(.protocolError, reason))))
        }
        return .none
    }
}

extension LDAPMessage.ProtocolOp {
    var expectsResponse: Bool {
        switch self {
        case .bindRequest, .searchRequest, .extendedRequest, .unsupported: return true
        default: return false
        }
    }

    /// The response PDU, of the type this request expects, that carries only `result`.
    func errorResponse(_ result: LDAPResult) -> LDAPMessage.ProtocolOp {
        switch self {
        case .bindRequest: return .bindResponse(BindResponse(result: result))
        case .searchRequest: return .searchResultDone(result)
        case .extendedRequest: return .extendedResponse(ExtendedResponse(result: result))
        case .unsupported(let tag): return .result(tag: tag + 1, result)
        default: return .extendedResponse(ExtendedResponse(result: result))
        }
    }
}
