import Logging
import NIOConcurrencyHelpers
import PrintplaneCore
import ServiceLifecycle

/// A store shared by several server instances that tells each one about releases and
/// cancellations committed by any of them (``PostgresStore``: `LISTEN/NOTIFY`). SQLite has
/// one instance, whose own commits ring its ``ReleaseHub`` directly.
public protocol ReleaseFeed: Sendable {
    /// Calls `changed` with the agent of every release or cancellation committed from now on,
    /// after calling `resynchronised` once it is listening; runs until cancelled, and throws
    /// when the feed breaks (the caller follows again).
    func followReleases(_ changed: @escaping @Sendable (AgentID) -> Void, resynchronised: @escaping @Sendable () -> Void) async throws
}

/// Follows a ``ReleaseFeed`` for the life of the server and rings the ``ReleaseHub``: so a
/// release through instance A reaches a long-poll held by instance B within milliseconds.
///
/// When the feed breaks (database restart, network), it follows again after a full-jitter
/// back-off (0…min(30 s, 2^n s)); on every (re)start it rings all waiters, which re-read the
/// store, so nothing committed while it was deaf is missed. Agents' check-ins carry releases
/// too, so even a feed that stays down delays a release by one check-in interval at worst.
struct ReleaseFeedService: Service {
    let feed: any ReleaseFeed
    let hub: ReleaseHub
    let logger: Logger

    func run() async throws {
        let failures = NIOLockedValueBox(0)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.feed.followReleases({ self.hub.ring($0) }, resynchronised: {
                        failures.withLockedValue { $0 = 0 }
                        self.hub.ringAll()
                    })
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isShuttingDownGracefully { return }
                let count = failures.withLockedValue { $0 += 1; return $0 }
                let ceiling = min(30.0, Double(1 << min(count, 5)))
                let wait = Double.random(in: 0...ceiling)
                self.logger.warning("release feed broke; following again", metadata: ["printplane.error": "\(String(reflecting: error))", "printplane.retry_in": "\(wait)s"])
                try? await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
            }
        }
    }
}
