/// The directory behind an ``LDAPServerHandler``: it decides binds and answers searches.
///
/// The handler owns the protocol (framing, StartTLS, "Who am I?", unbind, controls' criticality);
/// the backend owns the data and the policy (which binds succeed, what anonymous clients may
/// see, page sizes, and any injected faults). Calls are synchronous because the simulated AD is
/// in memory; a backend adds latency through the reply's `delay`, never by blocking.
public protocol LDAPServerBackend: Sendable {
    /// Request controls the backend implements; any other control marked critical is refused
    /// with unavailableCriticalExtension (RFC 4511 §4.1.11).
    var supportedControls: Set<String> { get }

    /// Decides a bind. `session` is the connection's state before the bind.
    func bind(_ request: BindRequest, controls: [LDAPControl], session: LDAPSession) -> LDAPBindReply

    /// Answers a search.
    func search(_ request: SearchRequest, controls: [LDAPControl], session: LDAPSession) -> LDAPSearchReply

    /// The authzId for "Who am I?" (RFC 4532): `dn:<DN>`, `u:<name>`, or empty for anonymous.
    func authorizationID(for session: LDAPSession) -> String

    /// Any extended operation other than StartTLS and "Who am I?"; nil answers protocolError
    /// ("unsupported"), as RFC 4511 §4.12 requires for an unknown requestName.
    func extended(_ request: ExtendedRequest, session: LDAPSession) -> ExtendedResponse?
}

extension LDAPServerBackend {
    public func authorizationID(for session: LDAPSession) -> String {
        session.boundDN.map { "dn:" + $0 } ?? ""
    }

    public func extended(_ request: ExtendedRequest, session: LDAPSession) -> ExtendedResponse? {
        nil
    }
}

/// What a connection knows about itself, passed to the backend on every request.
public struct LDAPSession: Hashable, Sendable {
    /// The DN the connection is bound as; nil for anonymous.
    public var boundDN: String?
    /// Whether the connection runs over TLS (LDAPS, or after StartTLS).
    public var isSecure: Bool

    public init(boundDN: String? = nil, isSecure: Bool = false) {
        self.boundDN = boundDN
        self.isSecure = isSecure
    }
}

/// The backend's answer to a bind.
public struct LDAPBindReply: Hashable, Sendable {
    public var result: LDAPResult
    /// The DN the connection is bound as on success (AD maps UPN and `DOMAIN\user` to it).
    public var boundDN: String?
    /// Added before the response is sent (a slow domain controller).
    public var delay: Duration

    public init(result: LDAPResult, boundDN: String? = nil, delay: Duration = .zero) {
        self.result = result
        self.boundDN = boundDN
        self.delay = delay
    }
}

/// The backend's answer to a search.
public struct LDAPSearchReply: Sendable {
    public var entries: [SearchResultEntry]
    public var references: [SearchResultReference]
    public var result: LDAPResult
    /// Response controls for the SearchResultDone (e.g. the paged-results cookie).
    public var controls: [LDAPControl]
    /// Added before the first response message is sent.
    public var delay: Duration
    /// If set, the connection is dropped after this many entries, without a SearchResultDone
    /// (fault injection: a domain controller that goes away mid-search).
    public var disconnectAfterEntries: Int?

    public init(
        entries: [SearchResultEntry] = [],
        references: [SearchResultReference] = [],
        result: LDAPResult,
        controls: [LDAPControl] = [],
        delay: Duration = .zero,
        disconnectAfterEntries: Int? = nil
    ) {
        self.entries = entries
        self.references = references
        self.result = result
        self.controls = controls
        self.delay = delay
        self.disconnectAfterEntries = disconnectAfterEntries
    }
}
