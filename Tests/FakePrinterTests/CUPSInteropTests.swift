import Foundation
import Testing

@testable import FakePrinter

/// The CUPS backends (Debian's `cups` package), run directly without cupsd, print to the
/// fake printer: DEVICE_URI=… /usr/lib/cups/backend/<name> JOB USER TITLE COPIES OPTIONS FILE.
@Suite("Interop: CUPS socket and lpd backends print to the fake printer", .serialized)
struct CUPSInteropTests {
    static let socketBackend = "/usr/lib/cups/backend/socket"
    static let lpdBackend = "/usr/lib/cups/backend/lpd"

    enum Format: String, CaseIterable, Sendable { case ps, pdf, pcl }

    @Test("socket backend: PostScript, PDF and PCL arrive with the right page counts and the backend exits 0", arguments: Format.allCases)
    func socketBackend(format: Format) async throws {
        try RealPeer.require(Self.socketBackend, package: "cups")
        try await withTemporaryDirectory { directory in
            let documents = try await RealPeer.documents(pages: 3, in: directory)
            let file = [Format.ps: documents.ps, .pdf: documents.pdf, .pcl: documents.pcl][format]!
            try await withFakePrinter { service, endpoints in
                let printer = endpoints.printers[0]
                let result = try await RealPeer.run(
                    Self.socketBackend, ["42", "alice", "quarterly report", "1", "", file],
                    environment: ["DEVICE_URI": "socket://\(printer.address):\(printer.rawPort)"], timeout: .seconds(60))
                #expect(result.status == 0, "socket backend: \(result.output)")
                let jobs = await service.printers[0].jobs()
                try #require(jobs.count == 1)
                #expect(jobs[0].state == .printed)
                #expect(jobs[0].pages == 3, "\(format): \(jobs[0].documents)")
                let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int
                #expect(jobs[0].bytes == UInt64(size))
            }
        }
    }

    /// CUPS' lpd backend makes copies itself by default (the data file holds the document N
    /// times); with `manual_copies=no` it repeats the print line instead (RFC 1179 §7.x).
    @Test("lpd backend, standard and stream mode, both copy styles: pages, copies, user and job name match what it sent",
          arguments: [
            ("", Format.ps), ("?manual_copies=no", .pdf), ("?manual_copies=no", .pcl), ("?manual_copies=no", .ps),
            ("?mode=stream&manual_copies=no", .ps), ("?mode=stream&manual_copies=no", .pdf),
            ("?order=data,control&manual_copies=no", .pcl),
          ] as [(String, Format)])
    func lpdBackend(options: String, format: Format) async throws {
        try RealPeer.require(Self.lpdBackend, package: "cups")
        try await withTemporaryDirectory { directory in
            let documents = try await RealPeer.documents(pages: 5, in: directory)
            let file = [Format.ps: documents.ps, .pdf: documents.pdf, .pcl: documents.pcl][format]!
            try await withFakePrinter { service, endpoints in
                let printer = endpoints.printers[0]
                let result = try await RealPeer.run(
                    Self.lpdBackend, ["77", "bob", "Budget 2027", "2", "", file],
                    environment: ["DEVICE_URI": "lpd://\(printer.address):\(printer.lpdPort)/passthru\(options)"], timeout: .seconds(60))
                #expect(result.status == 0, "lpd backend: \(result.output)")
                try await eventually("the job") { await service.printers[0].jobs().count == 1 }
                let job = await service.printers[0].jobs()[0]
                #expect(job.transport == .lpd)
                #expect(job.queue == "passthru")
                #expect(job.user == "bob")
                #expect(job.jobName == "Budget 2027")
                #expect(job.impressions == 10, "\(format)\(options): \(job.documents)")
                if options.contains("manual_copies=no") {
                    #expect(job.pages == 5)
                    #expect(job.copies == 2, "the backend repeats the print line per copy")
                } else {
                    #expect(job.pages == 10, "the backend sent the document twice in one data file")
                    #expect(job.copies == 1)
                }
            }
        }
    }
}
