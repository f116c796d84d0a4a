/// The JSON body of every non-2xx answer: `{"reason": "...", "message": "..."}`.
///
/// `reason` is machine-readable and stable (agents branch on it, e.g. `token_expired`);
/// `message` is one sentence for humans and may change.
public struct APIErrorBody: Codable, Sendable, Equatable {
    /// A stable snake_case code such as `token_expired`.
    public var reason: String
    /// A sentence for humans.
    public var message: String

    public init(reason: String, message: String) {
        self.reason = reason
        self.message = message
    }
}

/// The refusal reasons for an enrollment token (DESIGN.md §3). Each is answered with 401.
public enum TokenRefusal: String, Codable, Sendable, CaseIterable, Error {
    case tokenExpired = "token_expired"
    case tokenRevoked = "token_revoked"
    case tokenExhausted = "token_exhausted"
    case tokenUnknown = "token_unknown"
}
