import Foundation
import Testing

@testable import PrintplaneCore

@Suite("Wire types")
struct WireTypesTests {
    @Test("agent API bodies use the snake_case names of DESIGN.md §3")
    func snakeCase() throws {
        let response = CheckInResponse(status: .unchanged, etag: "p1-x", nextCheckinSeconds: 290, plan: nil)
        let json = String(decoding: try WireCoding.makeEncoder().encode(response), as: UTF8.self)
        #expect(json == #"{"etag":"p1-x","next_checkin_seconds":290,"status":"unchanged"}"#)

        let enroll = EnrollRequest(token: "t", hostname: "h", machineID: "m", os: "linux", agentVersion: "1.0")
        let enrollJSON = String(decoding: try WireCoding.makeEncoder().encode(enroll), as: UTF8.self)
        #expect(enrollJSON.contains(#""machine_id":"m""#) && enrollJSON.contains(#""agent_version":"1.0""#))
    }

    @Test("a job record round-trips with ISO 8601 times")
    func jobRoundTrip() throws {
        let job = JobRecord(
            jobID: "j-1", user: "alice", computer: "ws-1", printer: "hq-1", documentName: "q3.pdf", pages: 3, copies: 2,
            color: true, duplex: false, bytes: 12_345, protocol: .lpr, submittedAt: Date(timeIntervalSince1970: 1_700_000_000),
            completedAt: Date(timeIntervalSince1970: 1_700_000_005), outcome: .printed)
        let data = try WireCoding.makeEncoder().encode(JobBatch(jobs: [job]))
        #expect(String(decoding: data, as: UTF8.self).contains(#""submitted_at":"2023-11-14T22:13:20Z""#))
        #expect(try WireCoding.makeDecoder().decode(JobBatch.self, from: data).jobs == [job])
        #expect(job.validationProblems.isEmpty)
        var bad = job
        bad.copies = 0
        bad.completedAt = Date(timeIntervalSince1970: 0)
        #expect(bad.validationProblems.count == 2)
    }

    @Test("held-job registrations: snake_case, round trip, the bounds of a job record plus an expiry after the hold")
    func heldJobRegistration() throws {
        let held = Date(timeIntervalSince1970: 1_700_000_000)
        let job = HeldJobRegistration(
            jobID: "h-1", user: "alice", computer: "ws-1", printer: "hq-1", documentName: "payslip.pdf", pages: 2, copies: 1,
            color: false, duplex: true, bytes: 2048, protocol: .raw, heldAt: held, expiresAt: held.addingTimeInterval(3600))
        let json = String(decoding: try WireCoding.makeEncoder().encode(HeldJobBatch(jobs: [job])), as: UTF8.self)
        #expect(json.contains(#""held_at":"2023-11-14T22:13:20Z""#) && json.contains(#""expires_at":"2023-11-14T23:13:20Z""#))
        #expect(json.contains(#""document_name":"payslip.pdf""#) && json.contains(#""job_id":"h-1""#))
        #expect(try WireCoding.makeDecoder().decode(HeldJobBatch.self, from: Data(json.utf8)).jobs == [job])
        #expect(job.validationProblems.isEmpty)
        var bad = job
        bad.expiresAt = held
        bad.copies = 0
        bad.jobID = JobID(String(repeating: "x", count: 129))
        bad.user = ""
        #expect(bad.validationProblems.count == 4, "\(bad.validationProblems)")

        // Its final records keep the metadata and say how it ended.
        let expired = job.record(outcome: .expired, completedAt: held.addingTimeInterval(3600))
        #expect(expired.outcome == .expired && expired.submittedAt == held && expired.pages == 2 && expired.failure == nil)
        let failed = job.record(outcome: .failed, completedAt: held.addingTimeInterval(-5), failure: "document_missing")
        #expect(failed.completedAt == held, "never before the hold")
        #expect(failed.validationProblems.isEmpty)
        var long = failed
        long.failure = String(repeating: "f", count: 513)
        #expect(long.validationProblems == ["failure must be at most 512 bytes"])
        #expect(HeldJobState(outcome: .cancelled) == .cancelled && HeldJobState.released.isFinal == false && HeldJobState.expired.isFinal)
    }

    @Test("a check-in answer without releases is unchanged on the wire; with them it carries the printer to print on")
    func checkInReleases() throws {
        let plain = CheckInResponse(status: .unchanged, etag: "p1-x", nextCheckinSeconds: 290, plan: nil, releases: nil)
        #expect(!String(decoding: try WireCoding.makeEncoder().encode(plain), as: UTF8.self).contains("releases"))
        let held = Date(timeIntervalSince1970: 1_700_000_000)
        let job = HeldJobRegistration(
            jobID: "h-1", user: "alice", computer: "ws-1", printer: "hq-1", documentName: "d", pages: 1, copies: 1,
            color: false, duplex: false, bytes: 1, protocol: .raw, heldAt: held, expiresAt: held.addingTimeInterval(60))
        let printer = PlannedPrinter(id: "p", name: "Lobby", address: "10.0.0.9", protocol: .lpr, port: 515, queue: "lp", location: nil, driver: nil, profile: .default)
        let answer = CheckInResponse(status: .unchanged, etag: "p1-x", nextCheckinSeconds: 290, plan: nil, releases: PendingReleases(releases: [HeldJobRelease(job: job, printer: printer, releasedAt: held, releasedBy: "alice")]))
        let data = try WireCoding.makeEncoder().encode(answer)
        #expect(String(decoding: data, as: UTF8.self).contains(#""released_by":"alice""#))
        #expect(try WireCoding.makeDecoder().decode(CheckInResponse.self, from: data) == answer)
    }

    @Test("targets encode as kind and value, and unknown or unsupported kinds are refused")
    func targets() throws {
        let target = AssignmentTarget.ipRange(IPRange("10.0.0.0/8")!)
        let data = try WireCoding.makeEncoder().encode(target)
        #expect(String(decoding: data, as: UTF8.self) == #"{"kind":"ip_range","value":"10.0.0.0/8"}"#)
        #expect(try WireCoding.makeDecoder().decode(AssignmentTarget.self, from: data) == target)
        #expect(throws: DecodingError.self) { try WireCoding.makeDecoder().decode(AssignmentTarget.self, from: Data(#"{"kind":"planet","value":"x"}"#.utf8)) }
        // A group target needs a DN.
        #expect(throws: DecodingError.self) { try WireCoding.makeDecoder().decode(AssignmentTarget.self, from: Data(#"{"kind":"group","value":"x"}"#.utf8)) }
        #expect(throws: DecodingError.self) { try WireCoding.makeDecoder().decode(AssignmentTarget.self, from: Data(#"{"kind":"user"}"#.utf8)) }
    }

    @Test("plans compute install, update and remove from what is installed; equal sets have equal ETags")
    func planActions() {
        func printer(_ id: String, driver: String?) -> PlannedPrinter {
            let planned = driver.map {
                PlannedDriver(id: "d", manifest: SignedDriverManifest(manifest: DriverManifest(name: "n", version: "1", os: "w", sha256: $0, size: 1), signature: "s"), sources: [])
            }
            return PlannedPrinter(id: PrinterID(id), name: id, address: "10.0.0.1", protocol: .raw, port: 9100, queue: nil, location: nil, driver: planned, profile: .default)
        }
        let desired = [printer("a", driver: "aa"), printer("b", driver: "bb"), printer("c", driver: nil)]
        let plan = Plan(desired: desired, installed: [.init(printerID: "b", driverSHA256: "old"), .init(printerID: "c", driverSHA256: nil), .init(printerID: "z", driverSHA256: nil)])
        #expect(plan.install == ["a"])
        #expect(plan.update == ["b"])
        #expect(plan.remove == ["z"])
        #expect(Plan.etag(for: desired) == Plan.etag(for: desired))
        #expect(Plan.etag(for: desired) != Plan.etag(for: Array(desired.dropLast())))
    }
}
