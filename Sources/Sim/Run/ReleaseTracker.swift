import NIOConcurrencyHelpers
import PrintplaneAgent
import PrintplaneCore

/// Pull printing in a run: the jobs virtual users held, and the releases on their way, so each
/// release's latency (from its intended time until its agent printed it, whether it heard
/// through its long-poll or a check-in) is recorded once, and its record joins the ledger the
/// cross-checks compare with the server and the printers.
final class ReleaseTracker: Sendable {
    struct Held: Sendable {
        var jobID: JobID
        var agent: VirtualAgent
        var user: String
        var heldAt: ContinuousClock.Instant
    }

    private let held = NIOLockedValueBox([Held]())
    private let released = NIOLockedValueBox([JobID: ContinuousClock.Instant]())
    let recorder: MetricsRecorder
    let ledger: JobLedger

    init(recorder: MetricsRecorder, ledger: JobLedger) {
        self.recorder = recorder
        self.ledger = ledger
    }

    func hold(_ job: Held) {
        self.held.withLockedValue { $0.append(job) }
    }

    /// A job held at least `age` ago (so its registration has gone up), taken off the list.
    func takeHeld(olderThan age: Duration, pick: (Int) -> Int) -> Held? {
        let cutoff = ContinuousClock.now - age
        return self.held.withLockedValue { held in
            let ready = held.indices.filter { held[$0].heldAt <= cutoff }
            guard !ready.isEmpty else { return nil }
            return held.remove(at: ready[pick(ready.count)])
        }
    }

    func putBack(_ job: Held) {
        self.held.withLockedValue { $0.append(job) }
    }

    /// A release is about to be made, intended at `intended`.
    func releasing(_ id: JobID, intended: ContinuousClock.Instant) {
        self.released.withLockedValue { $0[id] = intended }
    }

    /// The release was refused: nothing will end it.
    func forget(_ id: JobID) {
        self.released.withLockedValue { _ = $0.removeValue(forKey: id) }
    }

    /// An agent ended a release (``AgentObserver/releaseHandled(_:)``); the first end counts.
    func ended(_ record: JobRecord) {
        guard let intended = self.released.withLockedValue({ $0.removeValue(forKey: record.jobID) }) else { return }
        self.ledger.add(record)
        if record.outcome == .printed {
            self.recorder.record(.release, intendedStart: intended)
            self.recorder.increment("jobs.released")
            self.recorder.increment("jobs.printed")
            self.recorder.increment("pages.printed", by: Double(record.pages))
        } else {
            self.recorder.record(.release, intendedStart: intended, error: record.failure?.hasPrefix("document_missing") == true ? "document_missing" : "printer_failed")
            self.recorder.increment("jobs.failed")
        }
    }

    /// Releases made that no agent ended: counted as errors at the end of the run.
    func unresolved() -> [JobID: ContinuousClock.Instant] {
        self.released.withLockedValue { released in
            defer { released.removeAll() }
            return released
        }
    }
}
