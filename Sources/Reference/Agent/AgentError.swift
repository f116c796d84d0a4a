/// Why an agent operation failed, in words an IT engineer can act on.
public struct AgentError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case notEnrolled(String)
        case alreadyEnrolled(String)
        case enrollmentRefused(reason: String, message: String)
        case credentialRefused(reason: String, message: String)
        case server(status: Int, reason: String, message: String)
        case unreachable(String)
        case badCAFile(String)
        case invalidPlan(String)
        case driverUnavailable(String)
        case unknownPrinter(String, available: [String])
        case documentTooLarge(limit: Int)
        case storage(String)
        case daemonNotRunning(String)
    }
    private let code: Code

    public static func notEnrolled(_ stateDirectory: String) -> Self { .init(code: .notEnrolled(stateDirectory)) }
    public static func alreadyEnrolled(_ stateDirectory: String) -> Self { .init(code: .alreadyEnrolled(stateDirectory)) }
    public static func enrollmentRefused(reason: String, message: String) -> Self { .init(code: .enrollmentRefused(reason: reason, message: message)) }
    public static func credentialRefused(reason: String, message: String) -> Self { .init(code: .credentialRefused(reason: reason, message: message)) }
    public static func server(status: Int, reason: String, message: String) -> Self { .init(code: .server(status: status, reason: reason, message: message)) }
    public static func unreachable(_ detail: String) -> Self { .init(code: .unreachable(detail)) }
    public static func badCAFile(_ detail: String) -> Self { .init(code: .badCAFile(detail)) }
    public static func invalidPlan(_ detail: String) -> Self { .init(code: .invalidPlan(detail)) }
    public static func driverUnavailable(_ detail: String) -> Self { .init(code: .driverUnavailable(detail)) }
    public static func unknownPrinter(_ name: String, available: [String]) -> Self { .init(code: .unknownPrinter(name, available: available)) }
    public static func documentTooLarge(limit: Int) -> Self { .init(code: .documentTooLarge(limit: limit)) }
    public static func storage(_ detail: String) -> Self { .init(code: .storage(detail)) }
    public static func daemonNotRunning(_ socket: String) -> Self { .init(code: .daemonNotRunning(socket)) }

    /// The machine-readable reason: the server's (`token_expired`, …) when it gave one.
    public var reason: String {
        switch self.code {
        case .notEnrolled: "not_enrolled"
        case .alreadyEnrolled: "already_enrolled"
        case .enrollmentRefused(let reason, _), .credentialRefused(let reason, _), .server(_, let reason, _): reason
        case .unreachable: "server_unreachable"
        case .badCAFile: "bad_ca_file"
        case .invalidPlan: "invalid_plan"
        case .driverUnavailable: "driver_unavailable"
        case .unknownPrinter: "unknown_printer"
        case .documentTooLarge: "document_too_large"
        case .storage: "storage_error"
        case .daemonNotRunning: "daemon_not_running"
        }
    }

    public var description: String {
        switch self.code {
        case .notEnrolled(let dir): "this agent is not enrolled (no credential in \(dir)); run `printplane agent enroll` first"
        case .alreadyEnrolled(let dir): "\(dir) already holds an enrolled agent's credential; use another --state-dir, or remove that one first"
        case .enrollmentRefused(let reason, let message): "enrollment refused: \(reason): \(message)"
        case .credentialRefused(let reason, let message): "the server refused this agent's credential (\(reason): \(message)); re-enroll with a new token"
        case .server(let status, let reason, let message): "the server answered HTTP \(status) \(reason): \(message)"
        case .unreachable(let detail): "cannot reach the server: \(detail)"
        case .badCAFile(let detail): detail
        case .invalidPlan(let detail): "the server's plan is unusable: \(detail)"
        case .driverUnavailable(let detail): detail
        case .unknownPrinter(let name, let available):
            "no printer named \"\(name)\" is installed" + (available.isEmpty ? " (none are installed yet: is the daemon running and has it checked in?)" : "; installed: \(available.joined(separator: ", "))")
        case .documentTooLarge(let limit): "the document is larger than \(limit / (1024 * 1024)) MiB"
        case .storage(let detail): "local storage failed: \(detail)"
        case .daemonNotRunning(let socket): "the agent daemon is not running (nothing listens on \(socket)); start it with `printplane agent run`"
        }
    }
}
