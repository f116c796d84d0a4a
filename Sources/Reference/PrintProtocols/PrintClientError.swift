/// Why sending a job to a printer failed, in terms an operator can act on.
public struct PrintClientError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case connectFailed(String)
        case timedOut(String)
        case rejected(String, UInt8)
        case connectionLost(String)
    }

    private let code: Code
    private init(_ code: Code) { self.code = code }

    public static func connectFailed(_ detail: String) -> Self { .init(.connectFailed(detail)) }
    public static func timedOut(_ what: String) -> Self { .init(.timedOut(what)) }
    /// The LPD server answered a step with a non-zero acknowledgement byte.
    public static func rejected(_ step: String, byte: UInt8) -> Self { .init(.rejected(step, byte)) }
    public static func connectionLost(_ detail: String) -> Self { .init(.connectionLost(detail)) }

    /// A stable reason for job outcomes and logs.
    public var reason: String {
        switch code {
        case .connectFailed: "printer_unreachable"
        case .timedOut: "printer_timeout"
        case .rejected: "printer_rejected"
        case .connectionLost: "printer_connection_lost"
        }
    }

    public var description: String {
        switch code {
        case .connectFailed(let detail): "cannot connect to the printer: \(detail)"
        case .timedOut(let what): "timed out \(what)"
        case .rejected(let step, let byte): "the printer refused the \(step) (LPD acknowledgement 0x\(String(byte, radix: 16)))"
        case .connectionLost(let detail): "the printer closed the connection: \(detail)"
        }
    }
}
