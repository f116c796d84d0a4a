import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a RAW/AppSocket (port 9100) byte stream into print jobs and PJL commands.
///
/// AppSocket has no framing of its own: the host sends a stream, half-closes, and
/// reads the back channel until the printer closes. Inside the stream, PJL marks job
/// boundaries (PJL Technical Reference ch. 6): a UEL (`ESC%-12345X`) returns the
/// printer to PJL; `@PJL` lines follow; `@PJL ENTER LANGUAGE=…` (or the first line that is
/// not PJL) switches to the page description language until the next UEL.
///
/// Job rules, as HP printers apply them:
/// - A job starts with `@PJL JOB` or with the first byte of document data.
/// - Inside `JOB`…`EOJ` (counted, they nest) UELs do not split the job; the `EOJ` that
///   closes the outermost `JOB` ends it.
/// - Outside `JOB`/`EOJ`, a UEL that follows document data ends the job.
/// - End of stream ends any open job.
/// - PJL commands that arrive outside a job (status queries) never create a job.
///
/// The job's bytes are passed through raw, PJL lines included, so what a printer
/// stores is exactly what the host sent for that job.
public struct AppSocketStateMachine: Sendable {
    /// What the connection handler must do.
    public enum Action: Sendable, Equatable {
        /// A command arrived; answer it if it is a query (INFO, ECHO, USTATUS…).
        case command(PJLCommand)
        /// A job started. `name` is the `@PJL JOB NAME` if there was one.
        case jobStarted(name: String?)
        /// Raw bytes belonging to the current job.
        case jobData(ByteBuffer)
        /// The current job ended (EOJ, a delimiting UEL, or end of stream).
        case jobEnded
    }

    private enum Mode: Sendable {
        case pjl
        case document
    }

    private var mode: Mode = .pjl
    private var inJob = false
    private var jobDepth = 0
    private var sawDocumentData = false
    /// Bytes consumed while idle in PJL mode; become the start of the job if one starts.
    private var pendingPrefix = ByteBuffer()
    /// An incomplete line (PJL mode) or a possible partial UEL (document mode) awaiting more bytes.
    private var carry = ByteBuffer()
    private let uel = PJL.universalExitLanguage

    public init() {}

    /// Feeds the next chunk of the stream; appends what to do to `actions`.
    public mutating func consume(_ chunk: ByteBuffer, into actions: inout [Action]) {
        var input: ByteBuffer
        if carry.readableBytes > 0 {
            input = carry
            var chunk = chunk
            input.writeBuffer(&chunk)
            carry.clear()
        } else {
            input = chunk
        }
        while input.readableBytes > 0 {
            switch mode {
            case .document: consumeDocument(&input, into: &actions)
            case .pjl: if !consumePJLLine(&input, into: &actions) { return }
            }
        }
    }

    /// The stream reached end of file: flush what is pending and end any open job.
    public mutating func finish(into actions: inout [Action]) {
        if carry.readableBytes > 0 {
            let rest = carry
            carry.clear()
            if mode == .pjl, let line = PJLCommand(line: String(decoding: rest.readableBytesView, as: UTF8.self)) {
                handle(command: line, raw: rest, into: &actions)
            } else {
                appendDocument(rest, into: &actions)
            }
        }
        if inJob { endJob(into: &actions) }
        pendingPrefix.clear()
    }

    // MARK: - Document mode

    private mutating func consumeDocument(_ input: inout ByteBuffer, into actions: inout [Action]) {
        var searchFrom = 0
        while let escape = input.firstOffset(of: 0x1B, from: searchFrom) {
            let available = input.readableBytes - escape
            let compare = min(available, uel.count)
            let matches = input.withUnsafeReadableBytes { bytes in
                (0..<compare).allSatisfy { bytes[escape + $0] == uel[$0] }
            }
            if matches {
                if escape > 0 {
                    appendDocument(input.readSlice(length: escape)!, into: &actions)
                }
                if compare < uel.count {
                    // A possible UEL split across chunks: keep it until more bytes arrive.
                    carry = input.readSlice(length: input.readableBytes)!
                    return
                }
                // A full UEL; it belongs to the job it ends.
                let uelBytes = input.readSlice(length: uel.count)!
                mode = .pjl
                if inJob {
                    actions.append(.jobData(uelBytes))
                    if jobDepth == 0, sawDocumentData { endJob(into: &actions) }
                } else {
                    var uelBytes = uelBytes
                    pendingPrefix.writeBuffer(&uelBytes)
                }
                return
            }
            searchFrom = escape + 1
        }
        appendDocument(input.readSlice(length: input.readableBytes)!, into: &actions)
    }

    // MARK: - PJL mode

    /// Consumes one line (or a UEL, or switches to document mode). Returns false when more bytes are needed.
    private mutating func consumePJLLine(_ input: inout ByteBuffer, into actions: inout [Action]) -> Bool {
        let view = input.readableBytesView
        // Leading UELs are part of PJL framing.
        if view.count >= uel.count, view.prefix(uel.count).elementsEqual(uel) {
            let bytes = input.readSlice(length: uel.count)!
            appendPJL(bytes, into: &actions)
            return true
        }
        if view.count < uel.count, view.first == 0x1B, uel.starts(with: view) {
            carry = input.readSlice(length: input.readableBytes)!
            return false
        }
        // Blank line ends (CR/LF) between PJL commands are framing too.
        if let first = view.first, first == 0x0A || first == 0x0D {
            appendPJL(input.readSlice(length: 1)!, into: &actions)
            return true
        }
        let prefix = Array("@PJL".utf8)
        let probe = min(view.count, prefix.count)
        let looksLikePJL = view.prefix(probe).map { $0 & 0xDF }.elementsEqual(prefix.prefix(probe).map { $0 & 0xDF })
        guard looksLikePJL else {
            // Implicit language switch: this line is document data.
            mode = .document
            return true
        }
        guard let newline = view.firstIndex(of: 0x0A) else {
            if view.count > PJL.maximumLineLength {
                mode = .document  // not a plausible PJL line; treat as data
                return true
            }
            carry = input.readSlice(length: input.readableBytes)!
            return false
        }
        let length = newline - view.startIndex + 1
        let raw = input.readSlice(length: length)!
        var lineBytes = raw.readableBytesView.dropLast()
        if lineBytes.last == 0x0D { lineBytes = lineBytes.dropLast() }
        let text = String(decoding: lineBytes, as: UTF8.self)
        if let command = PJLCommand(line: text) {
            handle(command: command, raw: raw, into: &actions)
        } else {
            mode = .document
            appendDocument(raw, into: &actions)
        }
        return true
    }

    private mutating func handle(command: PJLCommand, raw: ByteBuffer, into actions: inout [Action]) {
        switch command.verb {
        case "JOB":
            if !inJob { startJob(name: command.options["NAME"], into: &actions) }
            jobDepth += 1
            appendPJL(raw, into: &actions)
            actions.append(.command(command))
        case "EOJ":
            appendPJL(raw, into: &actions)
            actions.append(.command(command))
            if jobDepth > 0 {
                jobDepth -= 1
                if jobDepth == 0, inJob { endJob(into: &actions) }
            }
        case "ENTER":
            appendPJL(raw, into: &actions)
            actions.append(.command(command))
            mode = .document
        default:
            appendPJL(raw, into: &actions)
            actions.append(.command(command))
        }
    }

    // MARK: - Jobs

    private mutating func startJob(name: String?, into actions: inout [Action]) {
        inJob = true
        sawDocumentData = false
        actions.append(.jobStarted(name: name))
        if pendingPrefix.readableBytes > 0 {
            actions.append(.jobData(pendingPrefix))
            pendingPrefix = ByteBuffer()
        }
    }

    private mutating func endJob(into actions: inout [Action]) {
        inJob = false
        jobDepth = 0
        sawDocumentData = false
        actions.append(.jobEnded)
    }

    private mutating func appendPJL(_ bytes: ByteBuffer, into actions: inout [Action]) {
        if inJob {
            actions.append(.jobData(bytes))
        } else {
            var bytes = bytes
            if pendingPrefix.readableBytes + bytes.readableBytes <= 64 * 1024 {
                pendingPrefix.writeBuffer(&bytes)
            } else {
                pendingPrefix.clear()  // a long run of queries; they are not a job
            }
        }
    }

    private mutating func appendDocument(_ bytes: ByteBuffer, into actions: inout [Action]) {
        guard bytes.readableBytes > 0 else { return }
        if !inJob { startJob(name: nil, into: &actions) }
        sawDocumentData = true
        actions.append(.jobData(bytes))
    }
}

extension ByteBuffer {
    /// The offset (from the reader index) of the first `byte` at or after `start`, found with `memchr`.
    func firstOffset(of byte: UInt8, from start: Int) -> Int? {
        guard start < readableBytes else { return nil }
        return withUnsafeReadableBytes { bytes -> Int? in
            guard let base = bytes.baseAddress else { return nil }
            guard let hit = memchr(base + start, Int32(byte), bytes.count - start) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
    }
}
