import Foundation
import NIOCore
import Testing

@testable import FakePrinter
@testable import PrintProtocols

@Suite("Fake printer: RAW/AppSocket and PJL")
struct RawPrintingTests {
    @Test("a RAW job is stored with its bytes, pages and peer, and the life counter moves")
    func rawJob() async throws {
        try await withFakePrinter { service, endpoints in
            let printer = endpoints.printers[0]
            let document = postScript(pages: 3)
            let back = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: document, timeout: .seconds(10))
            #expect(back.readableBytes == 0)
            let jobs = await service.printers[0].jobs()
            try #require(jobs.count == 1)
            let job = jobs[0]
            #expect(job.transport == .raw)
            #expect(job.state == .printed)
            #expect(job.pages == 3)
            #expect(job.impressions == 3)
            #expect(job.bytes == UInt64(document.readableBytes))
            #expect(job.peer.hasPrefix("127.0.0.1:"))
            let stored = try Data(contentsOf: URL(fileURLWithPath: service.printers[0].documentPath(storedAs: job.documents[0].storedAs!)))
            #expect(stored == Data(document.readableBytesView))
            #expect(await service.printers[0].lifePageCount == 3)
        }
    }

    @Test("PJL status readback on the back channel, framed with form feeds; queries make no job")
    func pjlQueries() async throws {
        try await withFakePrinter(configure: { $0.model = "LaserJet Test" }) { service, endpoints in
            let printer = endpoints.printers[0]
            var query = ByteBuffer(bytes: PJL.universalExitLanguage)
            query.writeString("@PJL\r\n@PJL INFO ID\r\n@PJL INFO STATUS\r\n@PJL ECHO hello 42\r\n@PJL INFO PAGECOUNT\r\n@PJL INFO BOGUS\r\n")
            query.writeBytes(PJL.universalExitLanguage)
            let back = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: query, timeout: .seconds(10))
            let replies = pjlReplies(back)
            #expect(replies == [
                "@PJL INFO ID\r\n\"LaserJet Test\"\r\n",
                "@PJL INFO STATUS\r\nCODE=10001\r\nDISPLAY=\"READY\"\r\nONLINE=TRUE\r\n",
                "@PJL ECHO hello 42\r\n",
                "@PJL INFO PAGECOUNT\r\nPAGECOUNT=0\r\n",
                "@PJL INFO BOGUS\r\n?\r\n",
            ])
            #expect(await service.printers[0].jobs().isEmpty)
        }
    }

    @Test("USTATUS JOB and PAGE report a job's start, pages and end")
    func unsolicitedStatus() async throws {
        try await withFakePrinter { service, endpoints in
            let printer = endpoints.printers[0]
            var stream = ByteBuffer(bytes: PJL.universalExitLanguage)
            stream.writeString("@PJL USTATUS JOB=ON\r\n@PJL USTATUS PAGE=ON\r\n@PJL JOB NAME=\"quarterly\"\r\n@PJL SET USERNAME=\"alice\"\r\n@PJL SET DUPLEX=ON\r\n@PJL ENTER LANGUAGE=POSTSCRIPT\r\n")
            var document = postScript(pages: 2)
            stream.writeBuffer(&document)
            stream.writeBytes(PJL.universalExitLanguage)
            stream.writeString("@PJL EOJ NAME=\"quarterly\"\r\n")
            stream.writeBytes(PJL.universalExitLanguage)
            let back = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: stream, timeout: .seconds(10))
            #expect(pjlReplies(back) == [
                "@PJL USTATUS JOB\r\nSTART\r\nNAME=\"quarterly\"\r\n",
                "@PJL USTATUS PAGE\r\n1\r\n",
                "@PJL USTATUS PAGE\r\n2\r\n",
                "@PJL USTATUS JOB\r\nEND\r\nNAME=\"quarterly\"\r\nPAGES=2\r\n",
            ])
            let jobs = await service.printers[0].jobs()
            try #require(jobs.count == 1)
            #expect(jobs[0].jobName == "quarterly")
            #expect(jobs[0].user == "alice")
            #expect(jobs[0].pjl["DUPLEX"] == "ON")
        }
    }

    @Test("JOB/EOJ pairs split one connection into several jobs")
    func severalJobsOneConnection() async throws {
        try await withFakePrinter { service, endpoints in
            let printer = endpoints.printers[0]
            let stream = pjlJobs([("first", 1), ("second", 4)])
            _ = try await PrintClient.sendRaw(host: printer.address, port: printer.rawPort, document: stream, timeout: .seconds(10))
            let jobs = await service.printers[0].jobs()
            #expect(jobs.map(\.jobName) == ["first", "second"])
            #expect(jobs.map(\.pages) == [1, 4])
            #expect(await service.printers[0].lifePageCount == 5)
        }
    }
}
