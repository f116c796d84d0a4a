/// How the verifier captures and classifies a run.
public struct PcapVerifierConfiguration: Sendable {
    /// Device, namespace, filter and `--pcap-out` file of the capture.
    public var capture: PacketCaptureConfiguration
    /// Which addresses and ports are the server, printers, directory and agents.
    public var classifier: PacketClassifier

    /// Loopback mode captures on `any` (so 127.x traffic and anything leaking out of a real
    /// interface are both seen); topology mode passes the lan namespace and its `wan` link.
    public init(capture: PacketCaptureConfiguration = PacketCaptureConfiguration(), classifier: PacketClassifier) {
        self.capture = capture
        self.classifier = classifier
    }
}
