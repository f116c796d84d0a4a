import Sim
import Testing

/// The verdict reaches the scenario's recorder: figures when captured, "skipped" otherwise.
struct PcapRecorderTests {
    @Test func capturedFiguresBecomeMetrics() {
        let recorder = MetricsRecorder()
        PcapVerificationResult(status: .captured, metrics: ["pcap.print_packets_to_cloud": 0, "pcap.wan_bytes.agent_server": 1234, "pcap.dropped": 0])
            .record(into: recorder)
        let snapshot = recorder.snapshot()
        #expect(snapshot["pcap.print_packets_to_cloud"] == 0)
        #expect(snapshot["pcap.wan_bytes.agent_server"] == 1234)
        #expect(recorder.skipped().isEmpty)
    }

    @Test func skippedCaptureMarksEveryPcapMetricSkipped() {
        let recorder = MetricsRecorder()
        PcapVerificationResult(status: .skipped(reason: "needs CAP_NET_RAW"), metrics: [:]).record(into: recorder)
        let skipped = recorder.skipped()
        #expect(skipped["pcap.print_packets_to_cloud"] == "needs CAP_NET_RAW")
        #expect(skipped["pcap.non_tls_to_cloud"] == "needs CAP_NET_RAW")
        #expect(skipped["pcap.wan_bytes.agent_printer"] == "needs CAP_NET_RAW")
        #expect(recorder.snapshot()["pcap.print_packets_to_cloud"] == nil, "no reassuring zero")
    }

    @Test func dropsAreRecordedSoTheyCanFailTheRun() {
        let recorder = MetricsRecorder()
        PcapVerificationResult(status: .flaggedDrops(7), metrics: ["pcap.dropped": 7, "pcap.print_packets_to_cloud": 0]).record(into: recorder)
        #expect(recorder.snapshot()["pcap.dropped"] == 7)
    }
}
