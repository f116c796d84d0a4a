import SwiftASN1

/// Small readers and writers shared by the protocol element types.
///
/// LDAP's grammar is mostly implicitly tagged OCTET STRINGs, INTEGERs and ENUMERATEDs, so
/// the element types read and write those through these helpers instead of each repeating the
/// tag checks. Parsing stays on swift-asn1's `ASN1Node`; writing uses its `DER.Serializer`
/// (DER is a valid subset of BER, and RFC 4511 §5.1 allows either).
extension ASN1Node {
    /// The content of a primitive node with the expected identifier.
    func primitive(_ identifier: ASN1Identifier, _ what: @autoclosure () -> String) throws -> ArraySlice<UInt8> {
        guard self.identifier == identifier else {
            throw LDAPCodecError.unexpectedTag("\(what()): expected \(identifier), got \(self.identifier)")
        }
        guard case .primitive(let bytes) = self.content else {
            throw LDAPCodecError.malformed("\(what()) must be primitive")
        }
        return bytes
    }

    /// The children of a constructed node with the expected identifier.
    func constructed(_ identifier: ASN1Identifier, _ what: @autoclosure () -> String) throws -> ASN1NodeCollection {
        guard self.identifier == identifier else {
            throw LDAPCodecError.unexpectedTag("\(what()): expected \(identifier), got \(self.identifier)")
        }
        guard case .constructed(let children) = self.content else {
            throw LDAPCodecError.malformed("\(what()) must be constructed")
        }
        return children
    }

    func octetString(_ identifier: ASN1Identifier = .octetString, _ what: @autoclosure () -> String) throws -> [UInt8] {
        Array(try self.primitive(identifier, what()))
    }

    func string(_ identifier: ASN1Identifier = .octetString, _ what: @autoclosure () -> String) throws -> String {
        String(decoding: try self.primitive(identifier, what()), as: UTF8.self)
    }

    func integer(_ identifier: ASN1Identifier = .integer, _ what: @autoclosure () -> String) throws -> Int64 {
        try BERInteger.decode(try self.primitive(identifier, what()), what())
    }

    func boolean(_ what: @autoclosure () -> String) throws -> Bool {
        let bytes = try self.primitive(.boolean, what())
        guard bytes.count == 1 else { throw LDAPCodecError.malformed("\(what()): BOOLEAN must be one octet") }
        return bytes.first! != 0
    }
}

enum BERInteger {
    static func decode(_ bytes: ArraySlice<UInt8>, _ what: @autoclosure () -> String) throws -> Int64 {
        guard !bytes.isEmpty else { throw LDAPCodecError.malformed("\(what()): empty INTEGER") }
        guard bytes.count <= 8 else { throw LDAPCodecError.malformed("\(what()): INTEGER too large") }
        var value: Int64 = (bytes.first! & 0x80) != 0 ? -1 : 0
        for byte in bytes {
            value = (value << 8) | Int64(byte)
        }
        return value
    }

    static func encode(_ value: Int64, into bytes: inout [UInt8]) {
        var octets = 8
        while octets > 1 {
            let top = UInt8(truncatingIfNeeded: value >> ((octets - 1) * 8))
            let next = UInt8(truncatingIfNeeded: value >> ((octets - 2) * 8))
            if (top == 0 && next & 0x80 == 0) || (top == 0xFF && next & 0x80 != 0) {
                octets -= 1
            } else {
                break
            }
        }
        for shift in stride(from: (octets - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }
}

/// A cursor over the children of a SEQUENCE that reports missing elements as protocol errors.
struct BERChildren {
    private var iterator: ASN1NodeCollection.Iterator
    private var peeked: ASN1Node?
    let what: String

    init(_ collection: ASN1NodeCollection, _ what: String) {
        self.iterator = collection.makeIterator()
        self.what = what
    }

    mutating func next(_ field: String) throws -> ASN1Node {
        if let node = self.peeked {
            self.peeked = nil
            return node
        }
        guard let node = self.iterator.next() else {
            throw LDAPCodecError.malformed("\(self.what): missing \(field)")
        }
        return node
    }

    mutating func peek() -> ASN1Node? {
        if self.peeked == nil { self.peeked = self.iterator.next() }
        return self.peeked
    }

    /// Takes the next child only if it has the given identifier (for OPTIONAL fields).
    mutating func optional(_ identifier: ASN1Identifier) -> ASN1Node? {
        guard let node = self.peek(), node.identifier == identifier else { return nil }
        self.peeked = nil
        return node
    }

    /// LDAP allows extension elements at the end of most SEQUENCEs (RFC 4511 §4), so trailing
    /// children are tolerated; this only exists to make that choice explicit at call sites.
    func ignoringExtensions() {}
}

extension DER.Serializer {
    mutating func appendOctetString<Bytes: Sequence>(_ bytes: Bytes, identifier: ASN1Identifier = .octetString) where Bytes.Element == UInt8 {
        self.appendPrimitiveNode(identifier: identifier) { $0.append(contentsOf: bytes) }
    }

    mutating func appendString(_ string: String, identifier: ASN1Identifier = .octetString) {
        self.appendPrimitiveNode(identifier: identifier) { $0.append(contentsOf: string.utf8) }
    }

    mutating func appendInteger(_ value: Int64, identifier: ASN1Identifier = .integer) {
        self.appendPrimitiveNode(identifier: identifier) { BERInteger.encode(value, into: &$0) }
    }

    mutating func appendBoolean(_ value: Bool) {
        self.appendPrimitiveNode(identifier: .boolean) { $0.append(value ? 0xFF : 0x00) }
    }
}

extension ASN1Identifier {
    static func application(_ number: UInt) -> ASN1Identifier {
        ASN1Identifier(tagWithNumber: number, tagClass: .application)
    }

    static func context(_ number: UInt) -> ASN1Identifier {
        ASN1Identifier(tagWithNumber: number, tagClass: .contextSpecific)
    }
}
