import Foundation
import ServiceLifecycle

/// Ends the process when the process that started it is gone, so a child server of
/// `printplane sim run` never outlives a simulator that was killed.
struct ParentWatch: Service {
    let pid: Int32

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                // The parent is gone when it no longer exists or we were re-parented.
                while kill(self.pid, 0) == 0 && getppid() == self.pid {
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
        } catch is CancellationError {}
    }
}
