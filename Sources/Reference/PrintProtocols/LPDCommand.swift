import NIOCore

/// A command line of the Line Printer Daemon protocol.
///
/// RFC 1179 §5 (daemon commands, first byte 1–5, operands separated by SP/HT, ended by LF)
/// and §6 (receive-job subcommands):
/// ```
/// 01 Queue LF                          Print any waiting jobs
/// 02 Queue LF                          Receive a printer job
/// 03 Queue SP List LF                  Send queue state (short)
/// 04 Queue SP List LF                  Send queue state (long)
/// 05 Queue SP Agent SP List LF         Remove jobs
///   02-subcommands:
///   01 LF                              Abort job
///   02 Count SP Name LF                Receive control file
///   03 Count SP Name LF                Receive data file
/// ```
public enum LPDCommand: Sendable, Hashable {
    case printWaitingJobs(queue: String)
    case receiveJob(queue: String)
    case sendQueueState(queue: String, list: [String], long: Bool)
    case removeJobs(queue: String, agent: String, list: [String])
    case abortJob
    case receiveControlFile(count: UInt64, name: String)
    /// `count` is nil when the file runs until end of stream (a count of 0, or the huge
    /// count CUPS sends with `mode=stream`).
    case receiveDataFile(count: UInt64?, name: String)

    /// The bytes of this command on the wire, for the client half.
    public var encoded: ByteBuffer {
        var buffer = ByteBuffer()
        func line(_ code: UInt8, _ operands: [String]) {
            buffer.writeInteger(code)
            buffer.writeString(operands.joined(separator: " "))
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        switch self {
        case .printWaitingJobs(let queue): line(1, [queue])
        case .receiveJob(let queue): line(2, [queue])
        case .sendQueueState(let queue, let list, let long): line(long ? 4 : 3, [queue] + list)
        case .removeJobs(let queue, let agent, let list): line(5, [queue, agent] + list)
        case .abortJob: line(1, [])
        case .receiveControlFile(let count, let name): line(2, [String(count), name])
        case .receiveDataFile(let count, let name): line(3, [String(count ?? 0), name])
        }
        return buffer
    }
}

/// What the LPD decoder produces: command lines, and the contents of control and data files.
public enum LPDInbound: Sendable, Hashable {
    case command(LPDCommand)
    /// A piece of the file announced by the last receive-control/data-file subcommand.
    case fileData(ByteBuffer)
    /// The file is complete (its terminating NUL, or end of stream for a streamed data file).
    case fileEnd
}
