import NIOCore

extension IPPMessage {
    /// Bounds on what the decoder holds, so a hostile or broken server cannot make it
    /// allocate without limit or recurse without end.
    public struct Limits: Sendable, Hashable {
        /// Attributes and collection members in the whole message.
        public var maximumAttributes: Int = 100_000
        /// Values in the whole message.
        public var maximumValues: Int = 1_000_000
        /// Collections inside collections.
        public var maximumNesting: Int = 16

        public init() {}
    }

    /// Value tags (RFC 8010 §3.5.2).
    enum ValueTag {
        static let outOfBandRange: ClosedRange<UInt8> = 0x10...0x1F
        static let integer: UInt8 = 0x21
        static let boolean: UInt8 = 0x22
        static let enumeration: UInt8 = 0x23
        static let octetString: UInt8 = 0x30
        static let dateTime: UInt8 = 0x31
        static let resolution: UInt8 = 0x32
        static let rangeOfInteger: UInt8 = 0x33
        static let beginCollection: UInt8 = 0x34
        static let textWithLanguage: UInt8 = 0x35
        static let nameWithLanguage: UInt8 = 0x36
        static let endCollection: UInt8 = 0x37
        static let text: UInt8 = 0x41
        static let name: UInt8 = 0x42
        static let keyword: UInt8 = 0x44
        static let uri: UInt8 = 0x45
        static let uriScheme: UInt8 = 0x46
        static let charset: UInt8 = 0x47
        static let naturalLanguage: UInt8 = 0x48
        static let mimeMediaType: UInt8 = 0x49
        static let memberAttributeName: UInt8 = 0x4A
        /// RFC 8010 §3.5.2: the tag is in the next four octets. Not used by any server.
        static let extensionTag: UInt8 = 0x7F
    }

    static let endOfAttributes: UInt8 = 0x03

    // MARK: Decoding

    /// Parses a whole message (an HTTP body is whole before it is parsed), checking every
    /// length against what is left and every count against `limits`.
    public init(parsing buffer: ByteBuffer, limits: Limits = Limits()) throws(IPPCodecError) {
        var reader = Reader(buffer: buffer, limits: limits)
        guard let major = reader.buffer.readInteger(as: UInt8.self), let minor = reader.buffer.readInteger(as: UInt8.self) else {
            throw .truncated("version-number")
        }
        guard let code = reader.buffer.readInteger(as: UInt16.self) else { throw .truncated("operation-id or status-code") }
        guard let requestID = reader.buffer.readInteger(as: Int32.self) else { throw .truncated("request-id") }
        var groups: [IPPAttributeGroup] = []
        while true {
            guard let tag = reader.buffer.readInteger(as: UInt8.self) else { throw .truncated("no end-of-attributes-tag") }
            if tag == Self.endOfAttributes { break }
            guard tag <= 0x0F else {
                throw .malformed("value tag 0x\(String(tag, radix: 16)) where a group must begin")
            }
            let (attributes, next) = try reader.attributes(depth: 0)
            groups.append(IPPAttributeGroup(tag: .init(rawValue: tag), attributes: attributes))
            // The delimiter that ended the group is read again by the loop.
            reader.buffer.moveReaderIndex(to: reader.buffer.readerIndex - 1)
            precondition(next <= 0x0F, "attributes(depth: 0) stops only at a delimiter tag")
        }
        self.init(version: IPPVersion(major: major, minor: minor), code: code, requestID: requestID, groups: groups, data: reader.buffer)
    }

    struct Reader {
        var buffer: ByteBuffer
        let limits: Limits
        var attributeCount = 0
        var valueCount = 0

        init(buffer: ByteBuffer, limits: Limits) {
            self.buffer = buffer
            self.limits = limits
        }

        /// Reads attributes until a delimiter tag (top level, which it consumes and returns)
        /// or an `endCollection` value (inside a collection).
        mutating func attributes(depth: Int) throws(IPPCodecError) -> ([IPPAttribute], UInt8) {
            var attributes: [IPPAttribute] = []
            while true {
                guard let tag = self.buffer.readInteger(as: UInt8.self) else {
                    throw .truncated(depth == 0 ? "no end-of-attributes-tag" : "collection without endCollection")
                }
                if tag <= 0x0F {
                    guard depth == 0 else { throw .malformed("group delimiter inside a collection") }
                    return (attributes, tag)
                }
                guard tag != ValueTag.extensionTag else { throw .malformed("extension value tag 0x7F is not supported") }
                let name = try self.lengthPrefixed("attribute name")
                let value = try self.lengthPrefixed("attribute value")

                if depth > 0 {
                    // Inside a collection (RFC 8010 §3.1.6): memberAttrName, then its values.
                    if tag == ValueTag.endCollection {
                        guard name.isEmpty, value.isEmpty else { throw .malformed("endCollection with a name or a value") }
                        return (attributes, tag)
                    }
                    if tag == ValueTag.memberAttributeName {
                        guard name.isEmpty, !value.isEmpty else { throw .malformed("memberAttrName without a member name") }
                        try self.countAttribute()
                        attributes.append(IPPAttribute(String(decoding: value, as: UTF8.self), values: []))
                        continue
                    }
                    guard name.isEmpty, !attributes.isEmpty else { throw .malformed("collection value without a memberAttrName") }
                } else if name.isEmpty {
                    guard !attributes.isEmpty else { throw .malformed("additional value with no attribute before it") }
                } else {
                    try self.countAttribute()
                    attributes.append(IPPAttribute(String(decoding: name, as: UTF8.self), values: []))
                }
                let decoded = try self.value(tag: tag, bytes: value, depth: depth)
                self.valueCount += 1
                guard self.valueCount <= self.limits.maximumValues else { throw .tooLarge("more than \(self.limits.maximumValues) values") }
                attributes[attributes.count - 1].values.append(decoded)
            }
        }

        private mutating func countAttribute() throws(IPPCodecError) {
            self.attributeCount += 1
            guard self.attributeCount <= self.limits.maximumAttributes else { throw .tooLarge("more than \(self.limits.maximumAttributes) attributes") }
        }

        private mutating func lengthPrefixed(_ what: String) throws(IPPCodecError) -> [UInt8] {
            guard let length = self.buffer.readInteger(as: UInt16.self) else { throw .truncated("\(what) length") }
            guard let bytes = self.buffer.readBytes(length: Int(length)) else { throw .truncated("\(what) of \(length) bytes") }
            return bytes
        }

        private mutating func value(tag: UInt8, bytes: [UInt8], depth: Int) throws(IPPCodecError) -> IPPValue {
            func exactly(_ count: Int, _ syntax: String) throws(IPPCodecError) {
                guard bytes.count == count else { throw .malformed("\(syntax) value of \(bytes.count) bytes, not \(count)") }
            }
            func int32(_ offset: Int) -> Int32 {
                Int32(bitPattern: UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3]))
            }
            func text() -> String { String(decoding: bytes, as: UTF8.self) }
            switch tag {
            case ValueTag.outOfBandRange:
                return .outOfBand(tag)
            case ValueTag.integer:
                try exactly(4, "integer")
                return .integer(int32(0))
            case ValueTag.enumeration:
                try exactly(4, "enum")
                return .enumeration(int32(0))
            case ValueTag.boolean:
                try exactly(1, "boolean")
                guard bytes[0] <= 1 else { throw .malformed("boolean value \(bytes[0])") }
                return .boolean(bytes[0] == 1)
            case ValueTag.octetString:
                return .octetString(bytes)
            case ValueTag.dateTime:
                try exactly(11, "dateTime")
                return .dateTime(bytes)
            case ValueTag.resolution:
                try exactly(9, "resolution")
                return .resolution(crossFeed: int32(0), feed: int32(4), units: bytes[8])
            case ValueTag.rangeOfInteger:
                try exactly(8, "rangeOfInteger")
                return .rangeOfInteger(lower: int32(0), upper: int32(4))
            case ValueTag.textWithLanguage, ValueTag.nameWithLanguage:
                // language-length language text-length text, filling the value exactly.
                guard bytes.count >= 4 else { throw .malformed("\(tag == ValueTag.textWithLanguage ? "textWithLanguage" : "nameWithLanguage") shorter than its lengths") }
                let languageLength = Int(bytes[0]) << 8 | Int(bytes[1])
                guard 2 + languageLength + 2 <= bytes.count else { throw .malformed("language longer than its value") }
                let textStart = 2 + languageLength + 2
                let textLength = Int(bytes[textStart - 2]) << 8 | Int(bytes[textStart - 1])
                guard textStart + textLength == bytes.count else { throw .malformed("text length does not fill its value") }
                let language = String(decoding: bytes[2..<(2 + languageLength)], as: UTF8.self)
                let string = String(decoding: bytes[textStart...], as: UTF8.self)
                return tag == ValueTag.textWithLanguage ? .textWithLanguage(language: language, text: string) : .nameWithLanguage(language: language, name: string)
            case ValueTag.beginCollection:
                guard depth < self.limits.maximumNesting else { throw .tooLarge("collections nested deeper than \(self.limits.maximumNesting)") }
                let (members, _) = try self.attributes(depth: depth + 1)
                return .collection(members)
            case ValueTag.endCollection:
                throw .malformed("endCollection outside a collection")
            case ValueTag.memberAttributeName:
                throw .malformed("memberAttrName outside a collection")
            case ValueTag.text: return .text(text())
            case ValueTag.name: return .name(text())
            case ValueTag.keyword: return .keyword(text())
            case ValueTag.uri: return .uri(text())
            case ValueTag.uriScheme: return .uriScheme(text())
            case ValueTag.charset: return .charset(text())
            case ValueTag.naturalLanguage: return .naturalLanguage(text())
            case ValueTag.mimeMediaType: return .mimeMediaType(text())
            default:
                return .other(tag: tag, bytes: bytes)
            }
        }
    }

    // MARK: Encoding

    /// The message in RFC 8010 form.
    public func encode(into buffer: inout ByteBuffer) throws(IPPCodecError) {
        buffer.writeInteger(self.version.major)
        buffer.writeInteger(self.version.minor)
        buffer.writeInteger(self.code)
        buffer.writeInteger(self.requestID)
        for group in self.groups {
            guard group.tag.rawValue <= 0x0F, group.tag.rawValue != Self.endOfAttributes else {
                throw .malformed("\(group.tag) is not a begin-attribute-group-tag")
            }
            buffer.writeInteger(group.tag.rawValue)
            for attribute in group.attributes { try Self.encode(attribute, member: false, into: &buffer) }
        }
        buffer.writeInteger(Self.endOfAttributes)
        buffer.writeImmutableBuffer(self.data)
    }

    /// The encoded message.
    public func encoded() throws(IPPCodecError) -> ByteBuffer {
        var buffer = ByteBuffer()
        try self.encode(into: &buffer)
        return buffer
    }

    private static func encode(_ attribute: IPPAttribute, member: Bool, into buffer: inout ByteBuffer) throws(IPPCodecError) {
        guard !attribute.values.isEmpty else { throw .malformed("attribute \(attribute.name) has no value") }
        if member {
            try write(ValueTag.memberAttributeName, name: [], value: Array(attribute.name.utf8), into: &buffer)
        }
        for (index, value) in attribute.values.enumerated() {
            let name: [UInt8] = member || index > 0 ? [] : Array(attribute.name.utf8)
            try encode(value, name: name, into: &buffer)
        }
    }

    private static func encode(_ value: IPPValue, name: [UInt8], into buffer: inout ByteBuffer) throws(IPPCodecError) {
        func int32(_ value: Int32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }
        func withLanguage(_ language: String, _ text: String) throws(IPPCodecError) -> [UInt8] {
            let language = Array(language.utf8), text = Array(text.utf8)
            guard language.count <= 0xFFFF, text.count <= 0xFFFF else { throw .tooLarge("a text value over 65,535 bytes") }
            return withUnsafeBytes(of: UInt16(language.count).bigEndian, Array.init) + language + withUnsafeBytes(of: UInt16(text.count).bigEndian, Array.init) + text
        }
        switch value {
        case .integer(let number): try write(ValueTag.integer, name: name, value: int32(number), into: &buffer)
        case .enumeration(let number): try write(ValueTag.enumeration, name: name, value: int32(number), into: &buffer)
        case .boolean(let flag): try write(ValueTag.boolean, name: name, value: [flag ? 1 : 0], into: &buffer)
        case .octetString(let bytes): try write(ValueTag.octetString, name: name, value: bytes, into: &buffer)
        case .dateTime(let bytes):
            guard bytes.count == 11 else { throw .malformed("dateTime of \(bytes.count) bytes, not 11") }
            try write(ValueTag.dateTime, name: name, value: bytes, into: &buffer)
        case .resolution(let crossFeed, let feed, let units):
            try write(ValueTag.resolution, name: name, value: int32(crossFeed) + int32(feed) + [units], into: &buffer)
        case .rangeOfInteger(let lower, let upper):
            try write(ValueTag.rangeOfInteger, name: name, value: int32(lower) + int32(upper), into: &buffer)
        case .textWithLanguage(let language, let text):
            try write(ValueTag.textWithLanguage, name: name, value: try withLanguage(language, text), into: &buffer)
        case .nameWithLanguage(let language, let text):
            try write(ValueTag.nameWithLanguage, name: name, value: try withLanguage(language, text), into: &buffer)
        case .text(let text): try write(ValueTag.text, name: name, value: Array(text.utf8), into: &buffer)
        case .name(let text): try write(ValueTag.name, name: name, value: Array(text.utf8), into: &buffer)
        case .keyword(let text): try write(ValueTag.keyword, name: name, value: Array(text.utf8), into: &buffer)
        case .uri(let text): try write(ValueTag.uri, name: name, value: Array(text.utf8), into: &buffer)
        case .uriScheme(let text): try write(ValueTag.uriScheme, name: name, value: Array(text.utf8), into: &buffer)
        case .charset(let text): try write(ValueTag.charset, name: name, value: Array(text.utf8), into: &buffer)
        case .naturalLanguage(let text): try write(ValueTag.naturalLanguage, name: name, value: Array(text.utf8), into: &buffer)
        case .mimeMediaType(let text): try write(ValueTag.mimeMediaType, name: name, value: Array(text.utf8), into: &buffer)
        case .outOfBand(let tag):
            guard ValueTag.outOfBandRange.contains(tag) else { throw .malformed("out-of-band tag 0x\(String(tag, radix: 16))") }
            try write(tag, name: name, value: [], into: &buffer)
        case .other(let tag, let bytes):
            guard tag > 0x0F, tag != ValueTag.extensionTag, tag != ValueTag.beginCollection, tag != ValueTag.endCollection, tag != ValueTag.memberAttributeName else {
                throw .malformed("tag 0x\(String(tag, radix: 16)) cannot be written as an opaque value")
            }
            try write(tag, name: name, value: bytes, into: &buffer)
        case .collection(let members):
            try write(ValueTag.beginCollection, name: name, value: [], into: &buffer)
            for member in members { try encode(member, member: true, into: &buffer) }
            try write(ValueTag.endCollection, name: [], value: [], into: &buffer)
        }
    }

    private static func write(_ tag: UInt8, name: [UInt8], value: [UInt8], into buffer: inout ByteBuffer) throws(IPPCodecError) {
        guard name.count <= 0xFFFF, value.count <= 0xFFFF else { throw .tooLarge("a name or value over 65,535 bytes") }
        buffer.writeInteger(tag)
        buffer.writeInteger(UInt16(name.count))
        buffer.writeBytes(name)
        buffer.writeInteger(UInt16(value.count))
        buffer.writeBytes(value)
    }
}
