/// Finds where one LDAPMessage ends in a TCP byte stream, with bounds, before any parsing.
///
/// RFC 4511 §5.1: "Only the definite form of length encoding is used" and each LDAPMessage is a
/// BER SEQUENCE (`0x30`) sent back to back on the stream. swift-asn1's `BER.parse` wants one
/// complete element, so framing reads the outer tag and length itself, refuses sizes above a
/// maximum *before* buffering them, and then ``validate(_:maximumDepth:)`` walks the whole
/// element iteratively (no recursion, so hostile nesting cannot exhaust the stack), checking that
/// every inner length stays inside its container and that nesting stays under a limit.
public enum BERFrame {
    /// The outcome of looking at the front of a buffer.
    public enum Status: Equatable, Sendable {
        /// More bytes are needed before the frame's extent is known or complete.
        case needMoreData
        /// A complete element occupies the first `length` bytes.
        case complete(length: Int)
    }

    /// Reads the header of the element at the front of `bytes`.
    ///
    /// - Throws: ``LDAPCodecError`` for a tag other than SEQUENCE, an indefinite length, a
    ///   length prefix longer than 4 octets, or a declared size above `maximumMessageSize`.
    public static func status<Bytes: RandomAccessCollection>(
        of bytes: Bytes,
        maximumMessageSize: Int
    ) throws -> Status where Bytes.Element == UInt8, Bytes.Index == Int {
        guard let first = bytes.first else { return .needMoreData }
        guard first == 0x30 else {
            throw LDAPCodecError.unexpectedTag("an LDAPMessage must start with SEQUENCE (0x30), got 0x\(String(first, radix: 16))")
        }
        guard bytes.count >= 2 else { return .needMoreData }
        let start = bytes.startIndex
        let lengthByte = bytes[start + 1]
        var headerLength = 2
        var length: UInt64
        if lengthByte < 0x80 {
            length = UInt64(lengthByte)
        } else if lengthByte == 0x80 {
            throw LDAPCodecError.indefiniteLength()
        } else {
            let octets = Int(lengthByte & 0x7F)
            guard octets <= 4 else { throw LDAPCodecError.lengthPrefixTooLong(octets: octets) }
            guard bytes.count >= 2 + octets else { return .needMoreData }
            length = 0
            for index in 0..<octets {
                length = (length << 8) | UInt64(bytes[start + 2 + index])
            }
            headerLength += octets
        }
        let total = UInt64(headerLength) + length
        guard total <= UInt64(maximumMessageSize) else {
            throw LDAPCodecError.messageTooLarge(length: total, maximum: maximumMessageSize)
        }
        guard bytes.count >= Int(total) else { return .needMoreData }
        return .complete(length: Int(total))
    }

    /// Walks one complete BER element and checks its structure without recursion.
    ///
    /// - Throws: ``LDAPCodecError`` if an element is truncated, an inner length runs past its
    ///   container, an indefinite length appears, or constructed elements nest deeper than
    ///   `maximumDepth`.
    public static func validate(_ bytes: ArraySlice<UInt8>, maximumDepth: Int) throws {
        // Stack of end offsets of the open constructed elements.
        var ends: [Int] = [bytes.endIndex]
        ends.reserveCapacity(8)
        var index = bytes.startIndex
        while index < bytes.endIndex || ends.count > 1 {
            while let last = ends.last, ends.count > 1, index == last { ends.removeLast() }
            if index == bytes.endIndex { break }
            let containerEnd = ends.last!
            let tag = bytes[index]
            index += 1
            if tag & 0x1F == 0x1F {
                // High tag number form: base-128 continuation octets, at most 4 of them.
                var count = 0
                while true {
                    guard index < containerEnd else { throw LDAPCodecError.truncated("input ended inside a tag") }
                    let octet = bytes[index]
                    index += 1
                    count += 1
                    guard count <= 4 else { throw LDAPCodecError.malformed("tag number is too large") }
                    if octet & 0x80 == 0 { break }
                }
            }
            guard index < containerEnd else { throw LDAPCodecError.truncated("input ended before a length") }
            let lengthByte = bytes[index]
            index += 1
            var length = 0
            if lengthByte < 0x80 {
                length = Int(lengthByte)
            } else if lengthByte == 0x80 {
                throw LDAPCodecError.indefiniteLength()
            } else {
                let octets = Int(lengthByte & 0x7F)
                guard octets <= 4 else { throw LDAPCodecError.lengthPrefixTooLong(octets: octets) }
                guard containerEnd - index >= octets else { throw LDAPCodecError.truncated("input ended inside a length") }
                for _ in 0..<octets {
                    length = (length << 8) | Int(bytes[index])
                    index += 1
                }
            }
            guard length <= containerEnd - index else { throw LDAPCodecError.lengthPastEnd() }
            if tag & 0x20 != 0 {
                guard ends.count <= maximumDepth else { throw LDAPCodecError.nestingTooDeep(limit: maximumDepth) }
                ends.append(index + length)
            } else {
                index += length
            }
        }
    }
}
