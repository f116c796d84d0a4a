import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import FakePrinter
@testable import PrintProtocols

@Suite("Fake printer: faults are observable from the client side")
struct FaultTests {
    private func lpdJob(_ endpoints: FakePrinterService.Endpoints, pages: Int = 1) async throws {
        var control = LPDControlFile()
        control.host = "h"
        control.user = "alice"
        control.printLines = [.init(format: "l", dataFile: "dfA001h")]
        try await PrintClient.submitLPD(
            host: endpoints.printers[0].address, port: endpoints.printers[0].lpdPort, queue: "lp", control: control,
            controlFileName: "cfA001h", dataFiles: [.init(name: "dfA001h", contents: postScript(pages: pages))], timeout: .seconds(10))
    }

    @Test("offline refuses connections; clearing it brings the same ports back")
    func offline() async throws {
        try await withFakePrinter { service, endpoints in
            let printer = endpoints.printers[0]
            try await service.printers[0].setFaults(PrinterFaults(offline: true))
            try await eventually("connections refused") {
                do {
                    _ = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: postScript(pages: 1), timeout: .seconds(2))
                    return false
                } catch let error as PrintClientError {
                    return error.reason == "printer_unreachable"
                }
            }
            await #expect(throws: PrintClientError.self) { try await lpdJob(endpoints) }
            try await service.printers[0].setFaults(PrinterFaults())
            try await eventually("listening again") {
                (try? await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: postScript(pages: 1), timeout: .seconds(2))) != nil
            }
            try await lpdJob(endpoints)
            #expect(await service.printers[0].snapshot().rawPort == printer.rawPort)
        }
    }

    @Test("slow limits the rate the printer reads at")
    func slow() async throws {
        try await withFakePrinter(configure: { $0.initialFaults.bytesPerSecond = 200_000 }) { service, endpoints in
            let printer = endpoints.printers[0]
            let document = ByteBuffer(repeating: UInt8(ascii: "x"), count: 300_000)
            let start = ContinuousClock.now
            _ = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: document, timeout: .seconds(20))
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(1200), "300 kB at 200 kB/s took only \(elapsed)")
            #expect(await service.printers[0].jobs().first?.bytes == 300_000)
        }
    }

    @Test("drop resets the connection mid-job and records the job as dropped, not printed")
    func drop() async throws {
        try await withFakePrinter(configure: { $0.initialFaults.dropAfterBytes = 4096 }) { service, endpoints in
            let printer = endpoints.printers[0]
            let document = ByteBuffer(repeating: UInt8(ascii: "x"), count: 4 << 20)
            await #expect(throws: PrintClientError.self) {
                _ = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: document, timeout: .seconds(10))
            }
            try await eventually("the dropped job") { await service.printers[0].jobs().count == 1 }
            let job = await service.printers[0].jobs()[0]
            #expect(job.state == .dropped)
            #expect(job.bytes <= 4096)
            #expect(await service.printers[0].lifePageCount == 0)
        }
    }

    @Test("paper out: PJL status 41xyy, jobs held, then printed when the fault clears")
    func paperOut() async throws {
        try await withFakePrinter(configure: { $0.initialFaults.paperOut = true }) { service, endpoints in
            let printer = endpoints.printers[0]
            var query = ByteBuffer(bytes: PJL.universalExitLanguage)
            query.writeString("@PJL INFO STATUS\r\n")
            let status = String(buffer: try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: query, timeout: .seconds(30)))
            #expect(status.contains("CODE=41101"))
            #expect(status.contains("ONLINE=FALSE"))
            _ = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: postScript(pages: 2), timeout: .seconds(30))
            #expect(await service.printers[0].jobs().map(\.state) == [.held])
            #expect(await service.printers[0].lifePageCount == 0)
            try await service.printers[0].setFaults(PrinterFaults())
            #expect(await service.printers[0].jobs().map(\.state) == [.printed])
            #expect(await service.printers[0].lifePageCount == 2)
        }
    }

    @Test("jam: PJL 40022, LPD gets a negative ack, RAW job data is refused")
    func jam() async throws {
        try await withFakePrinter(configure: { $0.initialFaults.jam = true }) { service, endpoints in
            let printer = endpoints.printers[0]
            var query = ByteBuffer(bytes: PJL.universalExitLanguage)
            query.writeString("@PJL INFO STATUS\r\n")
            let status = String(buffer: try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: query, timeout: .seconds(30)))
            #expect(status.contains("CODE=40022"))
            await #expect(throws: PrintClientError.rejected("receive-job command", byte: 1)) { try await lpdJob(endpoints) }
            await #expect(throws: PrintClientError.self) {
                _ = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: ByteBuffer(repeating: 0x41, count: 1 << 20), timeout: .seconds(30))
            }
            try await eventually("the refused job") { await service.printers[0].jobs().map(\.state) == [.refused] }
            #expect(await service.printers[0].lifePageCount == 0)
        }
    }

    @Test("busy: a second job waits until the first finishes")
    func busy() async throws {
        try await withFakePrinter(configure: { $0.initialFaults.busy = true }) { service, endpoints in
            let printer = endpoints.printers[0]
            // The first job stays open until the test ends it, so it is in progress for as long
            // as the test needs, however slowly a loaded machine schedules the test's polls.
            let first = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .connect(host: printer.address, port: printer.rawPort) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                    }
                }
            let document = postScript(pages: 2)
            let half = document.readableBytes / 2
            try await first.executeThenClose { inbound, outbound in
                try await outbound.write(document.getSlice(at: document.readerIndex, length: half)!)
                try await eventually("the first job to start") { await service.printers[0].snapshot().counters.activeJobs == 1 }
                async let second = PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: postScript(pages: 1), timeout: .seconds(60))
                try await Task.sleep(for: .milliseconds(500))
                #expect(await service.printers[0].jobs().isEmpty, "the second job waits while the first is open")
                #expect(await service.printers[0].snapshot().counters.activeJobs == 1)
                try await outbound.write(document.getSlice(at: document.readerIndex + half, length: document.readableBytes - half)!)
                outbound.finish()
                for try await _ in inbound {}  // the printer closes once the job is recorded
                _ = try await second
            }
            let jobs = await service.printers[0].jobs()
            #expect(jobs.map(\.impressions) == [2, 1], "the held-open job first, then the waiting one")
            #expect(jobs.count == 2 && jobs[1].receivedAt >= jobs[0].completedAt.addingTimeInterval(-0.05), "the second job started only after the first ended")
        }
    }
}
