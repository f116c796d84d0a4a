import AsyncAlgorithms
import Foundation
import Logging
import ServiceLifecycle

/// Marks held jobs past their expiry as expired, every `interval` (DESIGN.md §3: held jobs
/// expire). An expired job can no longer be released; its workstation deletes the document on
/// its own clock. Idempotent, so several instances may sweep the same database.
struct HeldJobExpiryService: Service {
    let store: any Store
    let interval: Duration
    let clock: @Sendable () -> Date
    let logger: Logger

    func run() async throws {
        await self.sweep()
        for await _ in AsyncTimerSequence(interval: self.interval, clock: .continuous).cancelOnGracefulShutdown() {
            await self.sweep()
        }
    }

    func sweep() async {
        do {
            let expired = try await self.store.expireHeldJobs(at: self.clock())
            if expired > 0 { self.logger.info("held jobs expired", metadata: ["printplane.held.expired": "\(expired)"]) }
        } catch {
            self.logger.warning("held-job expiry sweep failed; will retry", metadata: ["printplane.error": "\(error)"])
        }
    }
}
