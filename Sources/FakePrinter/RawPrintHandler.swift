import Foundation
import Logging
import NIOCore
import PrintProtocols

/// Serves one AppSocket (RAW, port 9100) connection: reads the stream to end of file,
/// records each job it carries, answers PJL on the back channel, then closes. The
/// stream arrives already split into jobs and counted, faults applied (`RawJobScanner`,
/// on the event loop); this task does what needs the printer actor or the disk.
struct RawPrintHandler {
    let printer: VirtualPrinter
    let logger: Logger

    /// Never throws: one bad client must not take the listener down.
    func handle(_ channel: NIOAsyncChannel<RawEvent, ByteBuffer>) async {
        let peer = channel.channel.remoteAddress.map(Self.describe) ?? "unknown"
        await printer.connectionOpened()
        var session = RawSession(printer: printer, peer: peer, logger: logger)
        do {
            try await channel.executeThenClose { inbound, outbound in
                do {
                    for try await event in inbound {
                        for reply in try await session.receive(event) { try await outbound.write(reply) }
                        if case .jobStarted = event {
                            // The job is begun (a busy printer waited, a jammed one refused):
                            // the scanner may read on.
                            channel.channel.triggerUserOutboundEvent(RawJobScanner.JobAccepted(), promise: nil)
                        }
                    }
                    // The stream ended inside a job: the connection closed before the job did.
                    await session.abandon(reason: "connection closed before the job ended", state: .dropped)
                } catch let cut as ConnectionCut {
                    await session.abandon(reason: cut.reason, state: cut.state)
                    await resetOnClose(channel.channel)
                    logger.notice("RAW connection cut", metadata: ["printplane.peer": "\(peer)", "printplane.reason": "\(cut.reason)"])
                }
            }
        } catch {
            await session.abandon(reason: "connection lost: \(error)", state: .dropped)
            logger.debug("RAW connection ended with an error", metadata: ["printplane.peer": "\(peer)", "error": "\(error)"])
        }
    }

    static func describe(_ address: SocketAddress) -> String {
        if let ip = address.ipAddress, let port = address.port { return "\(ip):\(port)" }
        return "\(address)"
    }
}

/// The printer ends the connection on purpose (drop or jam fault, size limit).
struct ConnectionCut: Error, Sendable {
    var reason: String
    var state: PrintedJob.State
}

/// A job being received on one connection.
struct JobInProgress {
    let id: Int
    let receivedAt: Date
    var name: String?
    var user: String?
    var pjl: [String: String] = [:]
    var bytes: UInt64 = 0
    var spool: SpoolFile?
}

/// The per-connection state of a RAW session. Not Sendable: it lives in one task.
struct RawSession {
    let printer: VirtualPrinter
    let peer: String
    let logger: Logger
    private var job: JobInProgress?
    private var unsolicitedJobStatus = false
    private var unsolicitedPageStatus = false
    /// `@PJL SET` values seen before the job started (they apply to it).
    private var pendingSettings: [String: String] = [:]

    init(printer: VirtualPrinter, peer: String, logger: Logger) {
        self.printer = printer
        self.peer = peer
        self.logger = logger
    }

    mutating func receive(_ event: RawEvent) async throws -> [ByteBuffer] {
        switch event {
        case .command(let command):
            return await handle(command).map { [$0] } ?? []
        case .jobStarted(let name):
            return try await startJob(name: name)
        case .jobData(let bytes):
            try job?.spool?.write(bytes)
            return []
        case .jobEnded(let count, let bytes):
            job?.bytes = bytes
            return try await endJob(count)
        case .jobCut(let cut, let bytes):
            job?.bytes = bytes
            throw cut
        case .jobInterrupted(let bytes):
            job?.bytes = bytes
            return []
        }
    }

    /// Records the open job (if any) as dropped or refused.
    mutating func abandon(reason: String, state: PrintedJob.State) async {
        guard let job = self.job else { return }
        self.job = nil
        job.spool?.discard()
        let record = PrintedJob(
            id: job.id, printer: printer.address, transport: .raw, state: state, peer: peer, queue: nil,
            user: job.user, host: nil, jobName: job.name, documentName: nil, lpdClass: nil, bannerUser: nil, pjl: job.pjl,
            documents: [], bytes: job.bytes, impressions: nil, receivedAt: job.receivedAt, completedAt: Date(), detail: reason)
        do { try await printer.finishJob(record) } catch { logger.error("cannot record job", metadata: ["error": "\(error)"]) }
    }

    private mutating func startJob(name: String?) async throws -> [ByteBuffer] {
        let id = try await printer.beginJob()
        var newJob = JobInProgress(id: id, receivedAt: Date(), name: name)
        newJob.pjl = pendingSettings
        newJob.user = pendingSettings["USERNAME"]
        pendingSettings = [:]
        job = newJob
        if printer.currentFaults.jam { throw ConnectionCut(reason: "paper jam: job refused", state: .refused) }
        if printer.configuration.keepDocumentBytes { job?.spool = try printer.makeSpoolFile() }
        guard unsolicitedJobStatus else { return [] }
        return [PJL.reply(echoing: "USTATUS JOB", lines: ["START", "NAME=\"\(name ?? "")\""])]
    }

    private mutating func endJob(_ count: PageCount) async throws -> [ByteBuffer] {
        guard let finished = job else { return [] }
        job = nil
        let recorded = try await record(finished, count: count)
        var replies: [ByteBuffer] = []
        if unsolicitedPageStatus, recorded.state == .printed {
            for page in 0..<(recorded.impressions ?? 0) {
                replies.append(PJL.reply(echoing: "USTATUS PAGE", lines: ["\(page + 1)"]))
            }
        }
        if unsolicitedJobStatus {
            replies.append(PJL.reply(echoing: "USTATUS JOB", lines: [
                "END", "NAME=\"\(recorded.jobName ?? "")\"", "PAGES=\(recorded.impressions ?? 0)",
            ]))
        }
        return replies
    }

    private mutating func record(_ finished: JobInProgress, count: PageCount) async throws -> PrintedJob {
        var storedAs: String?
        if let spool = finished.spool {
            let name = printer.documentFileName(jobID: finished.id, index: 0)
            try spool.commit(to: printer.documentPath(storedAs: name), sync: true)
            storedAs = name
        }
        let document = PrintedJob.Document(
            name: "raw", format: nil, bytes: finished.bytes, language: count.language, pages: count.pages,
            copies: count.copies, storedAs: storedAs)
        let job = PrintedJob(
            id: finished.id, printer: printer.address, transport: .raw, state: .printed, peer: peer, queue: nil,
            user: finished.user, host: nil, jobName: finished.name, documentName: nil, lpdClass: nil, bannerUser: nil,
            pjl: finished.pjl, documents: [document], bytes: finished.bytes, impressions: count.impressions,
            receivedAt: finished.receivedAt, completedAt: Date(), detail: nil)
        return try await printer.finishJob(job)
    }

    /// Answers status readback; records settings. Returns the reply, if the command has one.
    private mutating func handle(_ command: PJLCommand) async -> ByteBuffer? {
        switch command.verb {
        case "INFO":
            let category = command.arguments.first ?? ""
            switch category {
            case "ID":
                return PJL.reply(echoing: "INFO ID", lines: ["\"\(PJL.sanitized(printer.configuration.model))\""])
            case "STATUS":
                let status = await printer.status
                return PJL.reply(echoing: "INFO STATUS", lines: [
                    "CODE=\(status.code)", "DISPLAY=\"\(status.display)\"", "ONLINE=\(status.online ? "TRUE" : "FALSE")",
                ])
            case "PAGECOUNT":
                return PJL.reply(echoing: "INFO PAGECOUNT", lines: ["PAGECOUNT=\(await printer.lifePageCount)"])
            case "CONFIG":
                return PJL.reply(echoing: "INFO CONFIG", lines: [
                    "IN TRAYS [1 ENUMERATED]", "\tINTRAY1", "DUPLEX", "LANGUAGES [3 ENUMERATED]", "\tPCL", "\tPOSTSCRIPT", "\tPDF",
                ])
            default:
                return PJL.reply(echoing: "INFO \(category)", lines: ["?"])
            }
        case "ECHO":
            let words = command.text.dropFirst(4).drop { $0 == " " || $0 == "\t" }
            return PJL.reply(echoing: "ECHO \(words)", lines: [])
        case "USTATUS":
            if let value = command.options["JOB"] { unsolicitedJobStatus = value.uppercased() == "ON" }
            if let value = command.options["PAGE"] { unsolicitedPageStatus = value.uppercased() == "ON" }
            return nil
        case "USTATUSOFF":
            unsolicitedJobStatus = false
            unsolicitedPageStatus = false
            return nil
        case "SET":
            for (key, value) in command.options {
                if job != nil { job!.pjl[key] = value } else { pendingSettings[key] = value }
                if key == "USERNAME" { if job != nil { job!.user = value } else { pendingSettings[key] = value } }
            }
            return nil
        case "JOB":
            if let user = command.options["USER"] ?? command.options["USERNAME"] { job?.user = user }
            return nil
        default:
            return nil
        }
    }
}

/// Makes the coming close send a TCP RST (SO_LINGER 0), so the client sees the cut
/// the way it would from a printer that drops a job mid-stream.
func resetOnClose(_ channel: any Channel) async {
    guard let provider = channel as? any SocketOptionProvider else { return }
    try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
}
