import Foundation
import Logging
import NIOCore
import PrintProtocols

/// Serves one RFC 1179 connection (port 515): drives `LPDServerStateMachine` with the
/// decoder's messages and does the I/O its actions ask for. Protocol errors get a
/// negative acknowledgement and a log line, never a crash.
struct LPDPrintHandler {
    let printer: VirtualPrinter
    let logger: Logger

    /// A data file still arriving, or received and waiting for its control file.
    private struct DataFile {
        var spool: SpoolFile?
        var counter = PageCounter()
        var bytes: UInt64 = 0
        var count: PageCount?
    }

    func handle(_ channel: NIOAsyncChannel<LPDInbound, ByteBuffer>) async {
        let peer = channel.channel.remoteAddress.map(RawPrintHandler.describe) ?? "unknown"
        await printer.connectionOpened()
        var machine = LPDServerStateMachine(maximumDataFileBytes: printer.configuration.maximumJobBytes)
        var files: [String: DataFile] = [:]
        var reservedJobID: Int?
        var receivedAt = Date()
        var connectionBytes = 0
        let keepBytes = printer.configuration.keepDocumentBytes

        func release() async {
            for file in files.values { file.spool?.discard() }
            files.removeAll()
            if reservedJobID != nil { await printer.cancelJob(); reservedJobID = nil }
        }

        do {
            try await channel.executeThenClose { inbound, outbound in
                func perform(_ actions: [LPDServerStateMachine.Action]) async throws -> Bool {
                    for action in actions {
                        switch action {
                        case .acknowledge:
                            try await outbound.write(ByteBuffer(bytes: [0]))
                        case .reject(let reason):
                            logger.warning("LPD request refused", metadata: ["printplane.peer": "\(peer)", "printplane.reason": "\(reason)"])
                            try await outbound.write(ByteBuffer(bytes: [1]))
                        case .sendQueueState(let queue, let list, let long):
                            try await outbound.write(ByteBuffer(string: await queueListing(queue: queue, list: list, long: long)))
                        case .removeJobs(_, let agent, let list):
                            let removed = try await printer.removeJobs(agent: agent, list: list)
                            logger.info("LPD remove-jobs", metadata: ["printplane.agent": "\(agent)", "printplane.removed": "\(removed)"])
                        case .printWaitingJobs:
                            try await printer.printWaitingJobs()
                        case .beginDataFile(let name, _):
                            if reservedJobID == nil { reservedJobID = try await printer.beginJob(); receivedAt = Date() }
                            files[name]?.spool?.discard()
                            files[name] = DataFile(spool: keepBytes ? try printer.makeSpoolFile() : nil)
                        case .dataFileBytes(let name, let bytes):
                            try files[name]?.spool?.write(bytes)
                            files[name]?.counter.consume(bytes)
                            files[name]?.bytes += UInt64(bytes.readableBytes)
                        case .endDataFile(let name):
                            if var file = files[name] {
                                file.count = file.counter.finish()
                                files[name] = file
                            }
                        case .jobComplete(let queue, _, let control):
                            if reservedJobID == nil { reservedJobID = try await printer.beginJob(); receivedAt = Date() }
                            let id = reservedJobID!
                            reservedJobID = nil
                            var documents: [PrintedJob.Document] = []
                            for (index, name) in control.dataFiles.enumerated() {
                                guard let file = files.removeValue(forKey: name) else { continue }
                                let count = file.count ?? PageCount(pages: nil, copies: 1, language: .unknown)
                                var storedAs: String?
                                if let spool = file.spool {
                                    storedAs = printer.documentFileName(jobID: id, index: index)
                                    try spool.commit(to: printer.documentPath(storedAs: storedAs!), sync: true)
                                }
                                let format = control.printLines.first { $0.dataFile == name }.map { String($0.format) }
                                documents.append(PrintedJob.Document(
                                    name: name, format: format, bytes: file.bytes, language: count.language, pages: count.pages,
                                    copies: control.copies(of: name) * count.copies, storedAs: storedAs))
                            }
                            let impressions = documents.reduce(Optional(0)) { total, document in
                                guard let total, let pages = document.pages else { return nil }
                                return total + pages * document.copies
                            }
                            let job = PrintedJob(
                                id: id, printer: printer.address, transport: .lpd, state: .printed, peer: peer, queue: queue,
                                user: control.user, host: control.host, jobName: control.jobName, documentName: control.sourceFileName,
                                lpdClass: control.class, bannerUser: control.bannerUser, pjl: [:], documents: documents,
                                bytes: documents.reduce(0) { $0 + $1.bytes }, impressions: impressions,
                                receivedAt: receivedAt, completedAt: Date(), detail: nil)
                            try await printer.finishJob(job)
                        case .discardDataFiles(let names):
                            for name in names { files.removeValue(forKey: name)?.spool?.discard() }
                        case .close:
                            return false
                        }
                    }
                    return true
                }

                do {
                    for try await message in inbound {
                        let faults = printer.currentFaults
                        if case .fileData(let bytes) = message {
                            if let limit = faults.dropAfterBytes, connectionBytes + bytes.readableBytes > limit {
                                throw ConnectionCut(reason: "drop fault after \(limit) bytes", state: .dropped)
                            }
                            connectionBytes += bytes.readableBytes
                            if let rate = faults.bytesPerSecond {
                                try await Task.sleep(for: .seconds(Double(bytes.readableBytes) / Double(rate)))
                            }
                        }
                        guard try await perform(machine.receive(message, acceptingJobs: !faults.jam)) else { break }
                    }
                    _ = try await perform(machine.connectionClosed())
                } catch let error as LPDProtocolError {
                    logger.warning("LPD protocol error", metadata: ["printplane.peer": "\(peer)", "error": "\(error)"])
                    try? await outbound.write(ByteBuffer(bytes: [1]))
                } catch let cut as ConnectionCut {
                    await recordCut(cut, peer: peer, jobID: reservedJobID, bytes: files.values.reduce(0) { $0 + $1.bytes }, receivedAt: receivedAt)
                    reservedJobID = nil
                    await resetOnClose(channel.channel)
                    logger.notice("LPD connection cut", metadata: ["printplane.peer": "\(peer)", "printplane.reason": "\(cut.reason)"])
                }
            }
        } catch {
            logger.debug("LPD connection ended with an error", metadata: ["printplane.peer": "\(peer)", "error": "\(error)"])
            if reservedJobID != nil, !files.isEmpty {
                await recordCut(ConnectionCut(reason: "connection lost: \(error)", state: .dropped), peer: peer, jobID: reservedJobID,
                                bytes: files.values.reduce(0) { $0 + $1.bytes }, receivedAt: receivedAt)
                reservedJobID = nil
            }
        }
        await release()
    }

    private func recordCut(_ cut: ConnectionCut, peer: String, jobID: Int?, bytes: UInt64, receivedAt: Date) async {
        guard let jobID else { return }
        let job = PrintedJob(
            id: jobID, printer: printer.address, transport: .lpd, state: cut.state, peer: peer, queue: nil, user: nil, host: nil,
            jobName: nil, documentName: nil, lpdClass: nil, bannerUser: nil, pjl: [:], documents: [], bytes: bytes,
            impressions: nil, receivedAt: receivedAt, completedAt: Date(), detail: cut.reason)
        do { try await printer.finishJob(job) } catch { logger.error("cannot record job", metadata: ["error": "\(error)"]) }
    }

    /// The listing BSD `lpd` sends for queue-state requests (RFC 1179 §5.3, §5.4 leave the format free).
    private func queueListing(queue: String, list: [String], long: Bool) async -> String {
        let status = await printer.status
        let jobs = await printer.queuedJobs().filter { job in
            list.isEmpty || list.contains(String(job.id)) || list.contains(job.user ?? "")
        }
        var text = "\(printer.address) (\(queue)): \(status.online ? "ready" : status.display.lowercased())\n"
        guard !jobs.isEmpty else { return text + "no entries\n" }
        func rank(_ n: Int) -> String {
            let suffix = (n % 100 >= 11 && n % 100 <= 13) ? "th" : ["th", "st", "nd", "rd", "th", "th", "th", "th", "th", "th"][n % 10]
            return "\(n)\(suffix)"
        }
        if long {
            for (position, job) in jobs.enumerated() {
                text += "\n\(job.user ?? "unknown"): \(rank(position + 1))".padding(toLength: 40, withPad: " ", startingAt: 0)
                text += "[job \(String(format: "%03d", job.id)) \(job.host ?? job.peer)]\n"
                let name = job.documentName ?? job.jobName ?? "(standard input)"
                text += "        \(name)".padding(toLength: 40, withPad: " ", startingAt: 0) + "\(job.bytes) bytes\n"
            }
            return text
        }
        text += "Rank   Owner      Job  Files                                 Total Size\n"
        for (position, job) in jobs.enumerated() {
            let name = job.documentName ?? job.jobName ?? "(standard input)"
            text += rank(position + 1).padding(toLength: 7, withPad: " ", startingAt: 0)
                + (job.user ?? "unknown").padding(toLength: 11, withPad: " ", startingAt: 0)
                + String(job.id).padding(toLength: 5, withPad: " ", startingAt: 0)
                + name.padding(toLength: 38, withPad: " ", startingAt: 0)
                + "\(job.bytes) bytes\n"
        }
        return text
    }
}
