/// Why the cache could not start or do its work, in words an IT engineer can act on.
public struct DriverCacheError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case notEnrolled(String)
        case configuration(String)
        case credentialRefused(reason: String, message: String)
        case notRegistered(String)
        case cloud(String)
        case certificate(String)
    }
    private let code: Code

    public static func notEnrolled(_ stateDirectory: String) -> Self { .init(code: .notEnrolled(stateDirectory)) }
    public static func configuration(_ detail: String) -> Self { .init(code: .configuration(detail)) }
    public static func credentialRefused(reason: String, message: String) -> Self { .init(code: .credentialRefused(reason: reason, message: message)) }
    public static func notRegistered(_ message: String) -> Self { .init(code: .notRegistered(message)) }
    public static func cloud(_ detail: String) -> Self { .init(code: .cloud(detail)) }
    public static func certificate(_ detail: String) -> Self { .init(code: .certificate(detail)) }

    /// The machine-readable reason.
    public var reason: String {
        switch self.code {
        case .notEnrolled: "not_enrolled"
        case .configuration: "invalid_configuration"
        case .credentialRefused(let reason, _): reason
        case .notRegistered: "not_a_cache"
        case .cloud: "cloud_unreachable"
        case .certificate: "certificate_unavailable"
        }
    }

    /// Whether the cloud said no for good (revoked, unknown or unregistered credential), as
    /// opposed to not answering.
    public var isRefusal: Bool {
        switch self.code {
        case .credentialRefused, .notRegistered: true
        default: false
        }
    }

    public var description: String {
        switch self.code {
        case .notEnrolled(let dir): "this cache is not enrolled (no credential in \(dir)); run `printplane cache enroll` first"
        case .configuration(let detail): detail
        case .credentialRefused(let reason, let message): "the cloud refused this cache's credential (\(reason): \(message)); re-enroll it with a new token and update its registration"
        case .notRegistered(let message): "the cloud does not know this device as a cache: \(message)"
        case .cloud(let detail): "cannot reach the cloud: \(detail)"
        case .certificate(let detail): "no TLS certificate: \(detail)"
        }
    }
}
