import NIOConcurrencyHelpers
import ServiceLifecycle

/// `printplane sim run` as a `Service`: SIGINT or SIGTERM cancels the run, which still
/// stops the server and printers, cross-checks what it has, and writes a report marked
/// as a run error (exit 3), so an interrupted run never reads as a pass.
public struct SimRunService: Service {
    public let runner: ScenarioRunner
    private let result = NIOLockedValueBox<RunReport?>(nil)

    public init(runner: ScenarioRunner) {
        self.runner = runner
    }

    /// The report, once the run has ended.
    public var report: RunReport? { self.result.withLockedValue { $0 } }

    public func run() async throws {
        let report = await cancelWhenGracefulShutdown { await self.runner.run() }
        self.result.withLockedValue { $0 = report }
    }
}
