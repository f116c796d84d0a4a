/// Why the fake printer could not start or do what it was asked.
public struct FakePrinterError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case invalidConfiguration(String)
        case bindFailed(String)
        case storage(String)
        case unknownPrinter(String)
        case unknownJob(String)
    }

    private let code: Code
    private init(_ code: Code) { self.code = code }

    public static func invalidConfiguration(_ reason: String) -> Self { .init(.invalidConfiguration(reason)) }
    public static func bindFailed(_ reason: String) -> Self { .init(.bindFailed(reason)) }
    public static func storage(_ reason: String) -> Self { .init(.storage(reason)) }
    public static func unknownPrinter(_ name: String) -> Self { .init(.unknownPrinter(name)) }
    public static func unknownJob(_ id: String) -> Self { .init(.unknownJob(id)) }

    /// A stable, machine-readable reason for JSON error bodies.
    public var reason: String {
        switch code {
        case .invalidConfiguration: "invalid_configuration"
        case .bindFailed: "bind_failed"
        case .storage: "storage_error"
        case .unknownPrinter: "unknown_printer"
        case .unknownJob: "unknown_job"
        }
    }

    public var description: String {
        switch code {
        case .invalidConfiguration(let reason): reason
        case .bindFailed(let reason): "cannot listen: \(reason)"
        case .storage(let reason): "job store: \(reason)"
        case .unknownPrinter(let name): "no printer named '\(name)' (use its address, e.g. 127.0.0.1, or its index)"
        case .unknownJob(let id): "no job \(id)"
        }
    }
}
