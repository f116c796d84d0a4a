import Logging
import ServiceLifecycle

/// Holds a `NetworkTopology` for as long as the service runs: builds it, hands it to
/// `onReady`, and tears it down on graceful shutdown (SIGINT/SIGTERM through the
/// `ServiceGroup`) or cancellation. A hard kill is covered by the topology's reaper.
public final class NetworkTopologyService: Service, Sendable {
    /// The topology to build.
    public let configuration: NetworkTopologyConfiguration
    private let logger: Logger
    private let onReady: @Sendable (NetworkTopology) async throws -> Void

    /// `onReady` runs once the namespaces exist (start the server in the cloud there).
    public init(
        configuration: NetworkTopologyConfiguration,
        logger: Logger = Logger(label: "printplane.sim.netns"),
        onReady: @escaping @Sendable (NetworkTopology) async throws -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.onReady = onReady
    }

    /// Builds, holds until graceful shutdown, tears down.
    public func run() async throws {
        let topology = try await NetworkTopology.create(configuration, logger: logger)
        do {
            try await onReady(topology)
            try? await gracefulShutdown()
        } catch {
            try? await topology.tearDown()
            throw error
        }
        try await topology.tearDown()
    }
}
