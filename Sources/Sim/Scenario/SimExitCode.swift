/// The exit codes of `printplane sim` (docs/scenarios.md, "Exit codes"), so a CI job can
/// tell "the system got slower" from "the scenario is wrong" from "the run broke".
public enum SimExitCode: Int32, Sendable, CaseIterable {
    /// Every threshold held (and, for `validate`, every file is valid).
    case passed = 0
    /// The run completed but at least one threshold failed.
    case thresholdFailed = 1
    /// Bad command line or an invalid scenario file: nothing was run.
    case invalidScenario = 2
    /// The run itself failed (the server did not start, a port was taken, a crash).
    case runError = 3

    /// A line for `--help` and docs.
    public var meaning: String {
        switch self {
        case .passed: "every threshold held"
        case .thresholdFailed: "the run completed and at least one threshold failed"
        case .invalidScenario: "usage error or invalid scenario file; nothing was run"
        case .runError: "the run could not complete (server, ports, crash)"
        }
    }
}
