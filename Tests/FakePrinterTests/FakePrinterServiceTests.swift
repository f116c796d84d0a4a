import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

@testable import FakePrinter
@testable import PrintProtocols

@Suite("Fake printer: HTTP status, persistence, scale and shutdown")
struct FakePrinterServiceTests {
    @Test("the HTTP endpoint lists printers and jobs, serves job bytes, and switches faults")
    func httpEndpoint() async throws {
        try await withFakePrinter(count: 2) { service, endpoints in
            let port = try #require(endpoints.httpPort)
            let second = endpoints.printers[1]
            #expect(second.address == "127.0.0.2")
            _ = try await PrintClient.sendRaw(host: second.address, port: second.rawPort, document: postScript(pages: 2), timeout: .seconds(30))

            let printers = try await http("GET", port, "/printers")
            #expect(printers.status == 200)
            let snapshots = try decode([VirtualPrinter.Snapshot].self, printers.body)
            #expect(snapshots.map(\.address) == ["127.0.0.1", "127.0.0.2"])
            #expect(snapshots[1].counters.jobsPrinted == 1)

            let jobs = try await http("GET", port, "/printers/127.0.0.2/jobs")
            let listed = try decode([PrintedJob].self, jobs.body)
            #expect(listed.map(\.pages) == [2])
            #expect(try decode([PrintedJob].self, try await http("GET", port, "/printers/1/jobs?since=\(listed[0].id)").body).isEmpty)

            let bytes = try await http("GET", port, "/printers/1/jobs/\(listed[0].id)/documents/0")
            #expect(bytes.body == String(buffer: postScript(pages: 2)))

            let faulted = try await http("PUT", port, "/printers/127.0.0.2/faults", json: #"{"paper_out": true}"#)
            #expect(faulted.status == 200)
            #expect(await service.printers[1].faults.paperOut)
            #expect(await service.printers[0].faults.paperOut == false)
            #expect(try await http("DELETE", port, "/faults").status == 200)
            #expect(await service.printers[1].faults.paperOut == false)

            let totals = try decode(PrinterStatusAPI.Totals.self, try await http("GET", port, "/counters").body)
            #expect(totals.printers == 2)
            #expect(totals.counters.lifePageCount == 2)
        }
    }

    @Test("bad HTTP requests get a clear JSON error and change nothing", arguments: [
        ("PUT", "/printers/0/faults", #"{"bytes_per_second": -5}"#, "application/json", 400),
        ("PUT", "/printers/0/faults", "{not json", "application/json", 400),
        ("PUT", "/printers/0/faults", #"{"jam": true}"#, "text/plain", 415),
        ("GET", "/printers/10.0.0.9", nil, "application/json", 404),
        ("GET", "/printers/0/jobs/99", nil, "application/json", 404),
    ] as [(String, String, String?, String, Int)])
    func badRequests(method: String, path: String, body: String?, contentType: String, status: Int) async throws {
        try await withFakePrinter { service, endpoints in
            let reply = try await http(method, endpoints.httpPort!, path, json: body, contentType: contentType)
            #expect(reply.status == status)
            let error = try decode([String: String].self, reply.body)
            #expect(error["reason"] != nil)
            #expect(error["message"] != nil)
            #expect(await service.printers[0].faults == PrinterFaults())
        }
    }

    @Test("jobs and the life page counter survive a restart")
    func persistence() async throws {
        try await withTemporaryDirectory { spool in
            try await withFakePrinter(spool: spool) { _, endpoints in
                let printer = endpoints.printers[0]
                _ = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: postScript(pages: 3), timeout: .seconds(30))
            }
            try await withFakePrinter(spool: spool) { service, endpoints in
                #expect(await service.printers[0].lifePageCount == 3)
                #expect(await service.printers[0].jobs().map(\.pages) == [3])
                let printer = endpoints.printers[0]
                _ = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: postScript(pages: 2), timeout: .seconds(30))
                #expect(await service.printers[0].lifePageCount == 5)
                #expect(await service.printers[0].jobs().map(\.id) == [1, 2], "job ids keep counting")
            }
        }
    }

    @Test("a crash between the job record and the counter write is healed on the next start")
    func crashBetweenWrites() async throws {
        try await withTemporaryDirectory { spool in
            try await withFakePrinter(spool: spool) { _, endpoints in
                let printer = endpoints.printers[0]
                _ = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: postScript(pages: 4), timeout: .seconds(30))
            }
            // Simulate the crash: the counters file is from before the job was recorded.
            let counters = spool + "/127.0.0.1/printer.json"
            try #"{"last_job_id": 0, "life_page_count": 0}"#.write(toFile: counters, atomically: true, encoding: .utf8)
            FileManager.default.createFile(atPath: spool + "/127.0.0.1/incoming/partial.part", contents: Data("cut".utf8))
            try await withFakePrinter(spool: spool) { service, _ in
                #expect(await service.printers[0].lifePageCount == 4)
                #expect(!FileManager.default.fileExists(atPath: spool + "/127.0.0.1/incoming/partial.part"))
            }
        }
    }

    @Test("hundreds of printers in one process, each on its own loopback address")
    func scale() async throws {
        try await withFakePrinter(host: "127.0.10.1", count: 300, configure: { $0.httpPort = nil }) { service, endpoints in
            #expect(endpoints.printers.count == 300)
            #expect(endpoints.printers.last?.address == "127.0.11.44")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for printer in endpoints.printers where printer.address.hasSuffix("7") || printer.address == "127.0.11.44" {
                    group.addTask {
                        _ = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: postScript(pages: 1), timeout: .seconds(20))
                    }
                }
                try await group.waitForAll()
            }
            var printed = 0
            for printer in service.printers { printed += await printer.snapshot().counters.jobsPrinted }
            #expect(printed == endpoints.printers.filter { $0.address.hasSuffix("7") || $0.address == "127.0.11.44" }.count)
        }
    }

    @Test("graceful shutdown lets an in-flight job finish and be recorded")
    func gracefulShutdownFinishesJobs() async throws {
        try await withTemporaryDirectory { spool in
            try await withFakePrinter(spool: spool, configure: { $0.initialFaults.bytesPerSecond = 200_000 }) { service, endpoints in
                let printer = endpoints.printers[0]
                // Send in the background; leave the closure (which triggers shutdown) while the job is
                // still arriving: 1 MB at 200 kB/s takes 5 s, so a poll starved for a second or two
                // on a loaded CI still sees it in flight (200 kB once finished before it looked).
                let sender = Task {
                    try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: ByteBuffer(repeating: 0x41, count: 1_000_000), timeout: .seconds(30))
                }
                try await eventually("the job to start") { await service.printers[0].snapshot().counters.activeJobs == 1 }
                _ = sender
            }
            try await withFakePrinter(spool: spool) { service, _ in
                let jobs = await service.printers[0].jobs()
                #expect(jobs.map(\.state) == [.printed])
                #expect(jobs.first?.bytes == 1_000_000)
            }
        }
    }

    @Test("a taken port is reported at once with the listener's error, not after a wait")
    func takenPortIsReported() async throws {
        let squatter = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let takenPort = try #require(squatter.localAddress?.port)
        try await withTemporaryDirectory { spool in
            let configuration = FakePrinterConfiguration(host: "127.0.0.1", count: 1, rawPort: takenPort, lpdPort: 0, httpPort: nil, spoolDirectory: spool)
            let service = try FakePrinterService(configuration: configuration, logger: Logger(label: "printplane.printer.test"))
            let group = ServiceGroup(configuration: .init(services: [service], logger: Logger(label: "printplane.printer.test")))
            let started = ContinuousClock.now
            async let run: Result<Void, any Error> = { do { return .success(try await group.run()) } catch { return .failure(error) } }()
            do {
                _ = try await service.endpoints()
                Issue.record("endpoints() answered although port \(takenPort) is taken")
            } catch let error as FakePrinterError {
                #expect(error.reason == "bind_failed")
                #expect("\(error)".contains("127.0.0.1:\(takenPort)"), "\(error)")
            }
            #expect(ContinuousClock.now - started < .seconds(10))
            let outcome = await run
            #expect(throws: (any Error).self, "the service ends with the bind error") { try outcome.get() }
        }
        try await squatter.close()
    }
}
