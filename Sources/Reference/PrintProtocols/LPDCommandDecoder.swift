import NIOCore

/// Frames an RFC 1179 byte stream (server side) into `LPDInbound` messages.
///
/// The grammar is stateful: after `02 Queue LF` every line is a receive-job subcommand,
/// and after a receive-file subcommand exactly `Count` bytes of file follow, then a NUL.
/// File contents are emitted in pieces of `chunkSize` bytes (the last piece shorter), so
/// the output does not depend on how TCP split the input and memory stays bounded.
public struct LPDCommandDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = LPDInbound

    /// Bounds that keep a hostile peer from using unbounded memory.
    public struct Limits: Sendable, Hashable {
        public var maximumLineLength: Int
        public var maximumControlFileBytes: UInt64
        /// Data files announced with at least this many bytes are read to end of stream
        /// (CUPS `mode=stream` announces an absurd count and then closes).
        public var streamingCountThreshold: UInt64
        public var chunkSize: Int

        public init(
            maximumLineLength: Int = 1024,
            maximumControlFileBytes: UInt64 = 64 * 1024,
            streamingCountThreshold: UInt64 = 999_999_999,
            chunkSize: Int = 64 * 1024
        ) {
            self.maximumLineLength = maximumLineLength
            self.maximumControlFileBytes = maximumControlFileBytes
            self.streamingCountThreshold = streamingCountThreshold
            self.chunkSize = chunkSize
        }
    }

    private enum State: Sendable {
        case daemonCommand
        case subcommand
        /// `remaining` nil: the file runs to end of stream.
        case file(remaining: UInt64?)
        case fileTerminator
        case finished
    }

    /// Where in the conversation decoding starts.
    public enum Phase: Sendable {
        /// A fresh connection: a daemon command comes first.
        case daemonCommand
        /// Already inside `02 Queue`: receive-job subcommands come first.
        case receivingJob
    }

    private var state: State
    private let limits: Limits

    public init(limits: Limits = .init(), startingIn phase: Phase = .daemonCommand) {
        self.limits = limits
        self.state = phase == .daemonCommand ? .daemonCommand : .subcommand
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = try next(&buffer, atEOF: false) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }

    /// Drains everything in one call: NIO offers an empty buffer to `decodeLast` only once,
    /// and a streamed file still owes its `.fileEnd` after its last bytes.
    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while let message = try next(&buffer, atEOF: seenEOF) {
            context.fireChannelRead(Self.wrapInboundOut(message))
        }
        return .needMoreData
    }

    /// Decodes the next message, or returns nil when more bytes are needed.
    /// This is the whole grammar; `decode` only forwards, which keeps it testable without a channel.
    public mutating func next(_ buffer: inout ByteBuffer, atEOF: Bool) throws -> LPDInbound? {
        switch state {
        case .daemonCommand, .subcommand:
            guard let line = try readLine(&buffer, atEOF: atEOF) else { return nil }
            let command = try parse(line: line)
            return .command(command)

        case .file(let remaining):
            if let remaining {
                if remaining == 0 {
                    state = .fileTerminator
                    return try next(&buffer, atEOF: atEOF)
                }
                let wanted = Int(min(remaining, UInt64(limits.chunkSize)))
                if buffer.readableBytes >= wanted {
                    state = .file(remaining: remaining - UInt64(wanted))
                    return .fileData(buffer.readSlice(length: wanted)!)
                }
                if atEOF { throw LPDProtocolError.truncated("a file (\(remaining) bytes missing)") }
                return nil
            }
            if buffer.readableBytes >= limits.chunkSize {
                return .fileData(buffer.readSlice(length: limits.chunkSize)!)
            }
            if atEOF {
                if buffer.readableBytes > 0 { return .fileData(buffer.readSlice(length: buffer.readableBytes)!) }
                state = .finished
                return .fileEnd
            }
            return nil

        case .fileTerminator:
            guard let byte = buffer.readInteger(as: UInt8.self) else {
                // The whole file arrived and the sender closed instead of sending the NUL:
                // CUPS' lpd backend does exactly this in mode=stream. The file is complete.
                if atEOF {
                    state = .finished
                    return .fileEnd
                }
                return nil
            }
            guard byte == 0 else { throw LPDProtocolError.missingFileTerminator(byte) }
            state = .subcommand
            return .fileEnd

        case .finished:
            if buffer.readableBytes > 0 { throw LPDProtocolError.unexpectedCommand("data after the end of the conversation") }
            return nil
        }
    }

    private func readLine(_ buffer: inout ByteBuffer, atEOF: Bool) throws -> ByteBuffer? {
        if let newline = buffer.firstOffset(of: UInt8(ascii: "\n"), from: 0) {
            guard newline <= limits.maximumLineLength else { throw LPDProtocolError.lineTooLong(limits.maximumLineLength) }
            let line = buffer.readSlice(length: newline)!
            buffer.moveReaderIndex(forwardBy: 1)
            return line
        }
        guard buffer.readableBytes <= limits.maximumLineLength else { throw LPDProtocolError.lineTooLong(limits.maximumLineLength) }
        if atEOF, buffer.readableBytes > 0 { throw LPDProtocolError.truncated("a command line") }
        return nil
    }

    private mutating func parse(line: ByteBuffer) throws -> LPDCommand {
        var line = line
        guard let code = line.readInteger(as: UInt8.self) else { throw LPDProtocolError.malformedCommand("empty line") }
        guard line.readableBytesView.allSatisfy({ $0 >= 0x20 || $0 == 0x09 || $0 == 0x0D }), line.readableBytesView.allSatisfy({ $0 != 0x7F }) else {
            throw LPDProtocolError.malformedCommand("control characters in operands")
        }
        let text = String(decoding: line.readableBytesView, as: UTF8.self)
        let operands = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)

        if case .subcommand = state {
            switch code {
            case 1:
                return .abortJob
            case 2, 3:
                guard operands.count == 2 else { throw LPDProtocolError.malformedCommand("expected 'count name', got \(operands.count) operands") }
                guard operands[0].count <= 20, operands[0].allSatisfy(\.isASCIIDigit), let count = UInt64(operands[0]) else {
                    throw LPDProtocolError.countOutOfRange(String(operands[0].prefix(32)))
                }
                let name = operands[1]
                if code == 2 {
                    guard count > 0, count <= limits.maximumControlFileBytes else { throw LPDProtocolError.fileTooLarge(count) }
                    state = .file(remaining: count)
                    return .receiveControlFile(count: count, name: name)
                }
                let streamed = count == 0 || count >= limits.streamingCountThreshold
                state = .file(remaining: streamed ? nil : count)
                return .receiveDataFile(count: streamed ? nil : count, name: name)
            default:
                throw LPDProtocolError.unknownCommand(code)
            }
        }

        guard let queue = operands.first else { throw LPDProtocolError.malformedCommand("missing queue name") }
        switch code {
        case 1:
            return .printWaitingJobs(queue: queue)
        case 2:
            state = .subcommand
            return .receiveJob(queue: queue)
        case 3, 4:
            return .sendQueueState(queue: queue, list: Array(operands.dropFirst()), long: code == 4)
        case 5:
            guard operands.count >= 2 else { throw LPDProtocolError.malformedCommand("remove-jobs needs an agent") }
            return .removeJobs(queue: queue, agent: operands[1], list: Array(operands.dropFirst(2)))
        default:
            throw LPDProtocolError.unknownCommand(code)
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
