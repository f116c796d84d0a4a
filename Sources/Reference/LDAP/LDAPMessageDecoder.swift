import NIOCore

/// Frames and decodes LDAP messages from a TCP stream (RFC 4511 §5.1).
///
/// Sizes above ``LDAPMessage/Limits/maximumMessageSize`` are refused as soon as the header is
/// read, so a hostile length prefix never makes the decoder buffer it. Any error is a protocol
/// error: the pipeline's handler answers with a Notice of Disconnection and closes.
public struct LDAPMessageDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = LDAPMessage

    public let limits: LDAPMessage.Limits

    public init(limits: LDAPMessage.Limits = .init()) {
        self.limits = limits
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> LDAPMessage? {
        let decoded = try buffer.withUnsafeReadableBytes { raw -> (LDAPMessage, Int)? in
            // Peek at the header first so no copy happens until the frame is complete.
            let bytes = raw.bindMemory(to: UInt8.self)
            switch try BERFrame.status(of: bytes, maximumMessageSize: self.limits.maximumMessageSize) {
            case .needMoreData:
                return nil
            case .complete(let length):
                let frame = Array(UnsafeBufferPointer(rebasing: bytes[0..<length]))
                guard let decoded = try LDAPMessage.decode(from: frame[...], limits: self.limits) else {
                    throw LDAPCodecError.truncated()
                }
                return decoded
            }
        }
        guard let (message, length) = decoded else { return nil }
        buffer.moveReaderIndex(forwardBy: length)
        return message
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> LDAPMessage? {
        try self.decode(buffer: &buffer)
    }
}

/// Writes LDAP messages as BER.
public struct LDAPMessageEncoder: MessageToByteEncoder {
    public typealias OutboundIn = LDAPMessage

    public init() {}

    public func encode(data: LDAPMessage, out: inout ByteBuffer) throws {
        out.writeBytes(try data.berEncoded())
    }
}
