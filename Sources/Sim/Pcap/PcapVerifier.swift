import Logging
import ServiceLifecycle
import Synchronization

/// Captures for a whole scenario run and proves on the wire that print traffic stayed off
/// the cloud (DESIGN.md §6, docs/pcap.md).
///
/// Use it as a `Service` (it captures from `run()` until graceful shutdown, then `result`
/// holds the verdict) or drive it directly with `start()` / `stop()`. Missing privileges
/// never fail silently: the result says `skipped: needs CAP_NET_RAW` and carries no metrics.
public final class PcapVerifier: Service, Sendable {
    private enum Phase {
        case idle
        case capturing(PacketCapture)
        case skipped(String)
        case done(PcapVerificationResult)
    }

    /// What is captured and how it is classified.
    public let configuration: PcapVerifierConfiguration
    private let logger: Logger
    private let tally: Mutex<PcapTally>
    private let phase = Mutex(Phase.idle)

    /// Prepares a verifier; nothing is captured until `start()` or `run()`.
    public init(configuration: PcapVerifierConfiguration, logger: Logger = Logger(label: "printplane.pcap")) {
        self.configuration = configuration
        self.logger = logger
        self.tally = Mutex(PcapTally(classifier: configuration.classifier))
    }

    /// Starts capturing. Missing privileges are not an error (the result will say `skipped`);
    /// a bad device, namespace, filter or output path is.
    public func start() async throws {
        do {
            let capture = try await PacketCapture.start(configuration.capture) { [self] packet in
                let decoded = PacketDecoder.decode(packet)
                self.tally.withLock { $0.add(wireLength: packet.wireLength, decoded: decoded) }
            }
            phase.withLock { $0 = .capturing(capture) }
            logger.info("capturing", metadata: [
                "printplane.pcap.device": "\(configuration.capture.device)",
                "printplane.pcap.namespace": "\(configuration.capture.namespace ?? "-")",
                "printplane.pcap.link_type": "\(capture.linkType)",
            ])
        } catch let error as PacketCaptureError where error.isPermissionDenied {
            logger.warning("pcap verification skipped", metadata: ["printplane.pcap.reason": "\(error)"])
            phase.withLock { $0 = .skipped("needs CAP_NET_RAW") }
        }
    }

    /// Stops the capture and returns the verdict. Calling it again returns the same result.
    public func stop() async -> PcapVerificationResult {
        let current = phase.withLock { $0 }
        switch current {
        case .idle:
            return PcapVerificationResult(status: .skipped(reason: "capture never started"), metrics: [:])
        case .skipped(let reason):
            return PcapVerificationResult(status: .skipped(reason: reason), metrics: [:])
        case .done(let result):
            return result
        case .capturing(let capture):
            let statistics = await capture.stop()
            var metrics = tally.withLock { $0.metrics }
            metrics["pcap.dropped"] = Double(statistics.dropped)
            let status: PcapVerificationResult.Status =
                if let error = statistics.error { .failed(reason: error) }
                else if statistics.dropped > 0 { .flaggedDrops(statistics.dropped) }
                else { .captured }
            let result = PcapVerificationResult(status: status, metrics: metrics, linkType: capture.linkType, pcapOutput: configuration.capture.outputPath)
            phase.withLock { $0 = .done(result) }
            if let error = statistics.error {
                logger.error("capture ended early", metadata: ["printplane.pcap.error": "\(error)"])
            }
            logger.info("capture stopped", metadata: [
                "printplane.pcap.status": "\(status)",
                "printplane.pcap.delivered": "\(statistics.delivered)",
            ])
            return result
        }
    }

    /// The verdict once `run()` returned or `stop()` was called; `nil` before.
    public var result: PcapVerificationResult? {
        if case .done(let result) = phase.withLock({ $0 }) { return result }
        if case .skipped(let reason) = phase.withLock({ $0 }) { return PcapVerificationResult(status: .skipped(reason: reason), metrics: [:]) }
        return nil
    }

    /// Captures until graceful shutdown or cancellation, then stops and keeps the result.
    public func run() async throws {
        try await start()
        try? await gracefulShutdown()
        _ = await stop()
    }
}
