import NIOCore

/// One IPP request or response (RFC 8010 §3.1), as it travels in an HTTP body of type
/// `application/ipp`.
///
/// ```
/// ipp-message = version-number operation-id-or-status-code request-id
///               *attribute-group end-of-attributes-tag data
/// attribute-group = begin-attribute-group-tag *attribute
/// attribute = attribute-with-one-value *additional-value
/// attribute-with-one-value = value-tag name-length name value-length value
/// additional-value = value-tag %x00.00 value-length value
/// ```
///
/// Printplane reads a print server's queues with it (`printplane import`), so the decoder
/// takes what real servers send: CUPS repeats an attribute in one group (an option set on
/// the queue, then the PPD's default), and sends collections (`media-col-default`).
public struct IPPMessage: Sendable, Hashable {
    /// IPP/2.0 by default; CUPS answers in the version asked.
    public var version: IPPVersion
    /// The operation-id in a request, the status-code in a response.
    public var code: UInt16
    public var requestID: Int32
    public var groups: [IPPAttributeGroup]
    /// Whatever follows the attributes: a document, or a PPD in a CUPS-Get-PPD answer.
    public var data: ByteBuffer

    public init(version: IPPVersion = .v2_0, code: UInt16, requestID: Int32, groups: [IPPAttributeGroup], data: ByteBuffer = ByteBuffer()) {
        self.version = version
        self.code = code
        self.requestID = requestID
        self.groups = groups
        self.data = data
    }

    /// A request with the operation attributes every request starts with (RFC 8011
    /// §4.1.4): `attributes-charset` and `attributes-natural-language`, then `operation`.
    public static func request(_ operation: IPPOperation, requestID: Int32, operationAttributes: [IPPAttribute] = [], groups: [IPPAttributeGroup] = []) -> IPPMessage {
        let required = [
            IPPAttribute("attributes-charset", .charset("utf-8")),
            IPPAttribute("attributes-natural-language", .naturalLanguage("en")),
        ]
        return IPPMessage(
            code: operation.rawValue, requestID: requestID,
            groups: [IPPAttributeGroup(tag: .operation, attributes: required + operationAttributes)] + groups)
    }

    /// The status of a response (`code` read as a status-code).
    public var status: IPPStatus { IPPStatus(rawValue: self.code) }

    /// The groups with `tag`, in order (a CUPS-Get-Printers answer has one printer group per queue).
    public func groups(_ tag: IPPAttributeGroup.Tag) -> [IPPAttributeGroup] {
        self.groups.filter { $0.tag == tag }
    }
}

/// `version-number = major-version-number minor-version-number`.
public struct IPPVersion: Sendable, Hashable, CustomStringConvertible {
    public var major: UInt8
    public var minor: UInt8

    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    public static let v1_1 = IPPVersion(major: 1, minor: 1)
    public static let v2_0 = IPPVersion(major: 2, minor: 0)

    public var description: String { "\(self.major).\(self.minor)" }
}

/// `attribute-group = begin-attribute-group-tag *attribute`.
public struct IPPAttributeGroup: Sendable, Hashable {
    /// The delimiter tags that begin a group (RFC 8010 §3.5.1, PWG 5100.22 for `system`).
    public struct Tag: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let operation = Tag(rawValue: 0x01)
        public static let job = Tag(rawValue: 0x02)
        public static let printer = Tag(rawValue: 0x04)
        public static let unsupported = Tag(rawValue: 0x05)
        public static let subscription = Tag(rawValue: 0x06)
        public static let eventNotification = Tag(rawValue: 0x07)
        public static let resource = Tag(rawValue: 0x08)
        public static let document = Tag(rawValue: 0x09)
        public static let system = Tag(rawValue: 0x0A)

        public var description: String { "group 0x\(String(self.rawValue, radix: 16))" }
    }

    public var tag: Tag
    public var attributes: [IPPAttribute]

    public init(tag: Tag, attributes: [IPPAttribute]) {
        self.tag = tag
        self.attributes = attributes
    }

    /// The first attribute called `name`: when a server repeats one, the first is the one it
    /// means (CUPS lists an option set on the queue before the PPD's default).
    public subscript(name: String) -> IPPAttribute? {
        self.attributes.first { $0.name == name }
    }
}

/// `attribute = attribute-with-one-value *additional-value`, or a collection member.
public struct IPPAttribute: Sendable, Hashable {
    public var name: String
    public var values: [IPPValue]

    public init(_ name: String, _ values: IPPValue...) {
        self.name = name
        self.values = values
    }

    public init(_ name: String, values: [IPPValue]) {
        self.name = name
        self.values = values
    }

    /// The first value as text, for the string-like syntaxes (text, name, keyword, uri, …).
    public var string: String? { self.values.first?.string }
    /// Every value as text, skipping those that are not string-like.
    public var strings: [String] { self.values.compactMap(\.string) }
    /// The first value as a number, for integer and enum.
    public var integer: Int32? {
        switch self.values.first {
        case .integer(let value), .enumeration(let value): return value
        default: return nil
        }
    }
    /// The first value as a boolean.
    public var boolean: Bool? {
        if case .boolean(let value) = self.values.first { return value }
        return nil
    }
}

/// One attribute value, by its value tag (RFC 8010 §3.5.2).
public enum IPPValue: Sendable, Hashable {
    case integer(Int32)
    case boolean(Bool)
    case enumeration(Int32)
    case octetString([UInt8])
    /// RFC 2579 DateAndTime, 11 octets, kept as they came.
    case dateTime([UInt8])
    /// Cross-feed and feed resolution; units 3 is dots per inch, 4 per centimetre.
    case resolution(crossFeed: Int32, feed: Int32, units: UInt8)
    case rangeOfInteger(lower: Int32, upper: Int32)
    case collection([IPPAttribute])
    case textWithLanguage(language: String, text: String)
    case nameWithLanguage(language: String, name: String)
    case text(String)
    case name(String)
    case keyword(String)
    case uri(String)
    case uriScheme(String)
    case charset(String)
    case naturalLanguage(String)
    case mimeMediaType(String)
    /// `unsupported` (0x10), `unknown` (0x12), `no-value` (0x13) and the other out-of-band tags.
    case outOfBand(UInt8)
    /// A value tag this decoder does not know, kept as bytes (RFC 8010 §3.5.2: a recipient
    /// treats an unknown tag's value as an opaque octet string).
    case other(tag: UInt8, bytes: [UInt8])

    /// The text of a string-like value.
    public var string: String? {
        switch self {
        case .text(let value), .name(let value), .keyword(let value), .uri(let value), .uriScheme(let value),
             .charset(let value), .naturalLanguage(let value), .mimeMediaType(let value):
            return value
        case .textWithLanguage(_, let value), .nameWithLanguage(_, let value):
            return value
        default:
            return nil
        }
    }
}

/// The operations Printplane sends (RFC 8011 §5.4.15; CUPS Implementation of IPP).
public struct IPPOperation: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let getPrinterAttributes = IPPOperation(rawValue: 0x000B)
    public static let cupsGetPrinters = IPPOperation(rawValue: 0x4002)
    public static let cupsGetClasses = IPPOperation(rawValue: 0x4005)
    public static let cupsGetPPD = IPPOperation(rawValue: 0x400F)
}

/// A response's status-code (RFC 8011 §B): 0x0000–0x00FF successful, 0x0400–0x04FF client
/// errors, 0x0500–0x05FF server errors.
public struct IPPStatus: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let successfulOK = IPPStatus(rawValue: 0x0000)
    public static let clientErrorNotAuthorized = IPPStatus(rawValue: 0x0403)
    public static let clientErrorNotPossible = IPPStatus(rawValue: 0x0404)
    public static let clientErrorNotFound = IPPStatus(rawValue: 0x0406)

    public var isSuccessful: Bool { self.rawValue <= 0x00FF }

    public var description: String {
        let names: [UInt16: String] = [
            0x0000: "successful-ok", 0x0001: "successful-ok-ignored-or-substituted-attributes",
            0x0002: "successful-ok-conflicting-attributes", 0x0400: "client-error-bad-request",
            0x0401: "client-error-forbidden", 0x0402: "client-error-not-authenticated",
            0x0403: "client-error-not-authorized", 0x0404: "client-error-not-possible",
            0x0405: "client-error-timeout", 0x0406: "client-error-not-found",
            0x0500: "server-error-internal-error", 0x0501: "server-error-operation-not-supported",
            0x0502: "server-error-service-unavailable", 0x0503: "server-error-version-not-supported",
        ]
        return names[self.rawValue] ?? "status 0x\(String(self.rawValue, radix: 16, uppercase: false))"
    }
}
