/// Why a namespace topology could not be built or torn down.
public struct NetworkTopologyError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case invalidConfiguration(String)
        case commandFailed(command: String, output: String)
        case permissionDenied(String)
    }

    private let kind: Kind

    /// A run ID or lan count the topology cannot use.
    public static func invalidConfiguration(_ detail: String) -> Self { Self(kind: .invalidConfiguration(detail)) }
    /// An `ip` command failed; carries the command line and its output.
    public static func commandFailed(command: String, output: String) -> Self { Self(kind: .commandFailed(command: command, output: output)) }
    /// Creating namespaces needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root).
    public static func permissionDenied(_ detail: String) -> Self { Self(kind: .permissionDenied(detail)) }

    public var description: String {
        switch kind {
        case .invalidConfiguration(let detail): "invalid topology: \(detail)"
        case .commandFailed(let command, let output): "`\(command)` failed: \(output.trimmingCharacters(in: .whitespacesAndNewlines))"
        case .permissionDenied(let detail): "topology mode needs CAP_NET_ADMIN (run as root): \(detail)"
        }
    }
}
