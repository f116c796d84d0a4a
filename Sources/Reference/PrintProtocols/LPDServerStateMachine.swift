import NIOCore

/// The server side of one RFC 1179 connection, as a value type that turns decoded
/// messages into actions. It owns the conversation rules; the handler only does I/O.
///
/// RFC 1179 §6: after `02 Queue` the client sends control and data files in either
/// order, each announced by a subcommand that the server acknowledges with a zero byte
/// (anything else is a negative acknowledgement), and each file is itself acknowledged
/// after its terminating NUL. Several jobs (control files) may share one connection. A
/// job is complete once its control file and every data file it names have arrived.
public struct LPDServerStateMachine: Sendable {
    public enum Action: Sendable, Equatable {
        /// Write the positive acknowledgement byte (0x00).
        case acknowledge
        /// Write a negative acknowledgement byte (0x01), log `reason`, then close.
        case reject(reason: String)
        /// Write the queue listing and close.
        case sendQueueState(queue: String, list: [String], long: Bool)
        /// Remove matching jobs, then close.
        case removeJobs(queue: String, agent: String, list: [String])
        /// Start printing jobs that wait, then close.
        case printWaitingJobs(queue: String)
        /// A data file begins: open somewhere to keep `name`'s bytes.
        case beginDataFile(name: String, announcedBytes: UInt64?)
        case dataFileBytes(name: String, ByteBuffer)
        case endDataFile(name: String)
        /// A job has everything it needs.
        case jobComplete(queue: String, controlFileName: String, control: LPDControlFile)
        /// These data files belong to no job any more (abort, or end of connection): discard them.
        case discardDataFiles([String])
        case close
    }

    private enum State: Sendable {
        case awaitingCommand
        case receivingJob(queue: String)
        case receivingControlFile(queue: String, name: String, bytes: ByteBuffer)
        case receivingDataFile(queue: String, name: String, streamed: Bool)
        case closed
    }

    private var state: State = .awaitingCommand
    /// Control files that still wait for some of their data files.
    private var waitingControlFiles: [(name: String, control: LPDControlFile)] = []
    /// Data files received (or being received) and not yet claimed by a complete job.
    private var receivedDataFiles: Set<String> = []
    private let maximumDataFileBytes: UInt64

    public init(maximumDataFileBytes: UInt64 = 4 << 30) {
        self.maximumDataFileBytes = maximumDataFileBytes
    }

    /// Handles one decoded message. `acceptingJobs` is false while the printer refuses work
    /// (for example jammed); a receive-job command is then refused with a negative ack.
    public mutating func receive(_ inbound: LPDInbound, acceptingJobs: Bool = true) -> [Action] {
        switch (state, inbound) {
        case (.awaitingCommand, .command(let command)):
            switch command {
            case .receiveJob(let queue):
                guard acceptingJobs else {
                    state = .closed
                    return [.reject(reason: "printer is not accepting jobs"), .close]
                }
                state = .receivingJob(queue: queue)
                return [.acknowledge]
            case .sendQueueState(let queue, let list, let long):
                state = .closed
                return [.sendQueueState(queue: queue, list: list, long: long), .close]
            case .removeJobs(let queue, let agent, let list):
                state = .closed
                return [.removeJobs(queue: queue, agent: agent, list: list), .close]
            case .printWaitingJobs(let queue):
                state = .closed
                return [.printWaitingJobs(queue: queue), .close]
            case .abortJob, .receiveControlFile, .receiveDataFile:
                return protocolError("subcommand outside a receive-job conversation")
            }

        case (.receivingJob(let queue), .command(let command)):
            switch command {
            case .abortJob:
                let discarded = Array(receivedDataFiles)
                receivedDataFiles.removeAll()
                waitingControlFiles.removeAll()
                return discarded.isEmpty ? [.acknowledge] : [.discardDataFiles(discarded.sorted()), .acknowledge]
            case .receiveControlFile(_, let name):
                state = .receivingControlFile(queue: queue, name: name, bytes: ByteBuffer())
                return [.acknowledge]
            case .receiveDataFile(let count, let name):
                if let count, count > maximumDataFileBytes {
                    return [.reject(reason: "data file of \(count) bytes exceeds the \(maximumDataFileBytes)-byte limit"), .close]
                }
                guard !name.contains("/"), !name.isEmpty else { return protocolError("data file name '\(name)'") }
                state = .receivingDataFile(queue: queue, name: name, streamed: count == nil)
                receivedDataFiles.insert(name)
                return [.acknowledge, .beginDataFile(name: name, announcedBytes: count)]
            default:
                return protocolError("daemon command inside a receive-job conversation")
            }

        case (.receivingControlFile(let queue, let name, var bytes), .fileData(var data)):
            bytes.writeBuffer(&data)
            state = .receivingControlFile(queue: queue, name: name, bytes: bytes)
            return []

        case (.receivingControlFile(let queue, let name, let bytes), .fileEnd):
            state = .receivingJob(queue: queue)
            do {
                let control = try LPDControlFile(parsing: bytes.readableBytesView)
                waitingControlFiles.append((name, control))
                // Acknowledge only once a completed job is recorded: nothing acknowledged is lost.
                return completeJobs(queue: queue) + [.acknowledge]
            } catch {
                return [.reject(reason: error.description), .close]
            }

        case (.receivingDataFile(_, let name, _), .fileData(let data)):
            return [.dataFileBytes(name: name, data)]

        case (.receivingDataFile(let queue, let name, let streamed), .fileEnd):
            state = streamed ? .closed : .receivingJob(queue: queue)
            // A streamed file ends with the connection; its sender reads no acknowledgement.
            var actions: [Action] = [.endDataFile(name: name)]
            actions += completeJobs(queue: queue)
            if !streamed { actions.append(.acknowledge) }
            if streamed { actions += connectionClosed() }
            return actions

        case (.closed, _):
            return []

        default:
            return protocolError("message in the wrong place")
        }
    }

    /// The peer closed the connection (or it failed): discard files no job claimed.
    public mutating func connectionClosed() -> [Action] {
        state = .closed
        waitingControlFiles.removeAll()
        let orphans = receivedDataFiles.sorted()
        receivedDataFiles.removeAll()
        return orphans.isEmpty ? [] : [.discardDataFiles(orphans)]
    }

    private mutating func completeJobs(queue: String) -> [Action] {
        var actions: [Action] = []
        var stillWaiting: [(name: String, control: LPDControlFile)] = []
        for entry in waitingControlFiles {
            let needed = entry.control.dataFiles
            if needed.allSatisfy({ receivedDataFiles.contains($0) && !isReceiving($0) }) {
                needed.forEach { receivedDataFiles.remove($0) }
                actions.append(.jobComplete(queue: queue, controlFileName: entry.name, control: entry.control))
            } else {
                stillWaiting.append(entry)
            }
        }
        waitingControlFiles = stillWaiting
        return actions
    }

    private func isReceiving(_ name: String) -> Bool {
        if case .receivingDataFile(_, let current, _) = state { return current == name }
        return false
    }

    private mutating func protocolError(_ what: String) -> [Action] {
        state = .closed
        return [.reject(reason: LPDProtocolError.unexpectedCommand(what).description), .close] + connectionClosed()
    }
}
