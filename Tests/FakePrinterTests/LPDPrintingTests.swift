import Foundation
import NIOCore
import Testing

@testable import FakePrinter
@testable import PrintProtocols

@Suite("Fake printer: LPD (RFC 1179)")
struct LPDPrintingTests {
    private func control(user: String = "alice", job: String = "report", files: [(Character, String)]) -> LPDControlFile {
        var control = LPDControlFile()
        control.host = "ws-042"
        control.user = user
        control.jobName = job
        control.sourceFileName = "\(job).ps"
        control.printLines = files.map { LPDControlFile.PrintLine(format: $0.0, dataFile: $0.1) }
        return control
    }

    @Test("a job in either order is stored with user, host, name and copies from repeated print lines", arguments: [true, false])
    func receiveJob(controlFirst: Bool) async throws {
        try await withFakePrinter { service, endpoints in
            let printer = endpoints.printers[0]
            try await PrintClient.submitLPD(
                host: printer.address, port: printer.lpdPort, queue: "raw",
                control: control(files: [("l", "dfA001ws-042"), ("l", "dfA001ws-042")]), controlFileName: "cfA001ws-042",
                dataFiles: [.init(name: "dfA001ws-042", contents: postScript(pages: 3))], controlFileFirst: controlFirst, timeout: .seconds(10))
            let jobs = await service.printers[0].jobs()
            try #require(jobs.count == 1)
            let job = jobs[0]
            #expect(job.transport == .lpd)
            #expect(job.queue == "raw")
            #expect(job.user == "alice")
            #expect(job.host == "ws-042")
            #expect(job.jobName == "report")
            #expect(job.documentName == "report.ps")
            #expect(job.documents.map(\.copies) == [2])
            #expect(job.documents.map(\.format) == ["l"])
            #expect(job.pages == 3)
            #expect(job.impressions == 6)
        }
    }

    @Test("several control files on one connection make several jobs; two data files in one job add up")
    func severalJobs() async throws {
        try await withFakePrinter { service, endpoints in
            let printer = endpoints.printers[0]
            // Hand-rolled conversation: two jobs, the second with two documents.
            var conversation = ByteBuffer()
            func file(_ code: UInt8, _ name: String, _ contents: ByteBuffer) {
                var contents = contents
                conversation.writeInteger(code)
                conversation.writeString("\(contents.readableBytes) \(name)\n")
                conversation.writeBuffer(&contents)
                conversation.writeInteger(UInt8(0))
            }
            conversation.writeString("\u{02}lp\n")
            file(2, "cfA001h", ByteBuffer(string: control(user: "bob", job: "one", files: [("o", "dfA001h")]).encoded))
            file(3, "dfA001h", postScript(pages: 1))
            file(3, "dfA002h", postScript(pages: 2))
            file(3, "dfB002h", postScript(pages: 5))
            file(2, "cfA002h", ByteBuffer(string: control(user: "carol", job: "two", files: [("o", "dfA002h"), ("o", "dfB002h")]).encoded))
            let acks = try await PrintClient.sendRaw(host: printer.address, port: printer.lpdPort, document: conversation, timeout: .seconds(10))
            #expect(Array(acks.readableBytesView) == Array(repeating: 0, count: 1 + 5 * 2))
            let jobs = await service.printers[0].jobs()
            #expect(jobs.map(\.user) == ["bob", "carol"])
            #expect(jobs.map(\.pages) == [1, 7])
            #expect(jobs[1].documents.count == 2)
        }
    }

    @Test("a data file that runs to end of stream (count 0) is a complete job")
    func streamedDataFile() async throws {
        try await withFakePrinter { service, endpoints in
            let printer = endpoints.printers[0]
            var conversation = ByteBuffer(string: "\u{02}lp\n")
            let controlText = control(files: [("l", "dfA003h")]).encoded
            conversation.writeString("\u{02}\(controlText.utf8.count) cfA003h\n\(controlText)\0")
            conversation.writeString("\u{03}0 dfA003h\n")
            var document = postScript(pages: 4)
            conversation.writeBuffer(&document)
            _ = try await PrintClient.sendRaw(host: printer.address, port: printer.lpdPort, document: conversation, timeout: .seconds(10))
            try await eventually("the streamed job") { await service.printers[0].jobs().count == 1 }
            #expect(await service.printers[0].jobs()[0].pages == 4)
        }
    }

    @Test("protocol errors get a negative acknowledgement and no job, and the printer keeps serving", arguments: [
        "\u{07}lp\n",
        "\u{02}lp\n\u{02}12 cfA001h\nHhost\nPalice\nX\0",
        "\u{02}lp\n\u{02}abc cfA001h\n",
        "\u{02}lp\n\u{03}4 dfA001h\nabcdX",
    ])
    func protocolErrors(conversation: String) async throws {
        try await withFakePrinter { service, endpoints in
            let printer = endpoints.printers[0]
            let reply = try await PrintClient.sendRaw(host: printer.address, port: printer.lpdPort, document: ByteBuffer(string: conversation), timeout: .seconds(10))
            #expect(reply.readableBytesView.last == 1)
            #expect(await service.printers[0].jobs().isEmpty)
            try await PrintClient.submitLPD(
                host: printer.address, port: printer.lpdPort, queue: "lp", control: control(files: [("l", "dfA009h")]),
                controlFileName: "cfA009h", dataFiles: [.init(name: "dfA009h", contents: postScript(pages: 1))], timeout: .seconds(10))
            #expect(await service.printers[0].jobs().count == 1)
        }
    }

    @Test("queue state (short and long), remove-jobs and print-waiting act on held jobs")
    func queueManagement() async throws {
        try await withFakePrinter(configure: { $0.initialFaults.paperOut = true }) { service, endpoints in
            let printer = endpoints.printers[0]
            for (index, user) in ["alice", "bob", "alice"].enumerated() {
                try await PrintClient.submitLPD(
                    host: printer.address, port: printer.lpdPort, queue: "lp", control: control(user: user, job: "doc\(index)", files: [("l", "dfA00\(index)h")]),
                    controlFileName: "cfA00\(index)h", dataFiles: [.init(name: "dfA00\(index)h", contents: postScript(pages: 1))], timeout: .seconds(10))
            }
            #expect(await service.printers[0].jobs().map(\.state) == [.held, .held, .held])
            let short = try await PrintClient.lpdCommand(host: printer.address, port: printer.lpdPort, .sendQueueState(queue: "lp", list: [], long: false))
            #expect(short.contains("Rank   Owner"))
            #expect(short.contains("1st    alice"))
            #expect(short.contains("2nd    bob"))
            #expect(short.contains("3rd    alice"))
            let long = try await PrintClient.lpdCommand(host: printer.address, port: printer.lpdPort, .sendQueueState(queue: "lp", list: ["bob"], long: true))
            #expect(long.contains("bob: 1st"))
            #expect(!long.contains("alice"))

            _ = try await PrintClient.lpdCommand(host: printer.address, port: printer.lpdPort, .removeJobs(queue: "lp", agent: "alice", list: []))
            #expect(await service.printers[0].jobs().map(\.state) == [.removed, .held, .removed])

            // Paper is still out: print-waiting does nothing. Clear it, then everything held prints.
            _ = try await PrintClient.lpdCommand(host: printer.address, port: printer.lpdPort, .printWaitingJobs(queue: "lp"))
            #expect(await service.printers[0].jobs()[1].state == .held)
            try await service.printers[0].setFaults(PrinterFaults())
            #expect(await service.printers[0].jobs()[1].state == .printed)
            #expect(await service.printers[0].lifePageCount == 1)
            let empty = try await PrintClient.lpdCommand(host: printer.address, port: printer.lpdPort, .sendQueueState(queue: "lp", list: [], long: false))
            #expect(empty.contains("no entries"))
        }
    }
}
