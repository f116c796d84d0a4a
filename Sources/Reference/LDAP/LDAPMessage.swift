import SwiftASN1

/// The envelope of every LDAP PDU (RFC 4511 §4.1.1).
///
/// ```
/// LDAPMessage ::= SEQUENCE {
///      messageID       MessageID,
///      protocolOp      CHOICE {
///           bindRequest           BindRequest,            -- [APPLICATION 0]
///           bindResponse          BindResponse,           -- [APPLICATION 1]
///           unbindRequest         UnbindRequest,          -- [APPLICATION 2] NULL
///           searchRequest         SearchRequest,          -- [APPLICATION 3]
///           searchResEntry        SearchResultEntry,      -- [APPLICATION 4]
///           searchResDone         SearchResultDone,       -- [APPLICATION 5] LDAPResult
///           searchResRef          SearchResultReference,  -- [APPLICATION 19]
///           ...
///           abandonRequest        AbandonRequest,         -- [APPLICATION 16] MessageID
///           extendedReq           ExtendedRequest,        -- [APPLICATION 23]
///           extendedResp          ExtendedResponse,       -- [APPLICATION 24]
///           ... },
///      controls       [0] Controls OPTIONAL }
/// MessageID ::= INTEGER (0 ..  maxInt)
/// ```
/// Operations this library does not model (modify, add, delete, modifyDN, compare, and
/// intermediate responses) decode as ``ProtocolOp/unsupported(tag:)`` so that a read-only server
/// can still answer them with the matching response tag.
public struct LDAPMessage: Hashable, Sendable {
    public enum ProtocolOp: Hashable, Sendable {
        case bindRequest(BindRequest)
        case bindResponse(BindResponse)
        case unbindRequest
        case searchRequest(SearchRequest)
        case searchResultEntry(SearchResultEntry)
        case searchResultDone(LDAPResult)
        case searchResultReference(SearchResultReference)
        case abandonRequest(messageID: Int32)
        case extendedRequest(ExtendedRequest)
        case extendedResponse(ExtendedResponse)
        /// A request or response this library does not model: its APPLICATION tag number, and
        /// for requests, the LDAPResult-only response to send back (modify → 7, add → 9, …).
        case unsupported(tag: UInt)
        /// A generic LDAPResult response with the given APPLICATION tag (modifyResponse,
        /// addResponse, delResponse, modDNResponse, compareResponse).
        case result(tag: UInt, LDAPResult)
    }

    public var messageID: Int32
    public var protocolOp: ProtocolOp
    public var controls: [LDAPControl]

    public init(messageID: Int32, _ protocolOp: ProtocolOp, controls: [LDAPControl] = []) {
        self.messageID = messageID
        self.protocolOp = protocolOp
        self.controls = controls
    }

    /// Limits applied while framing and parsing untrusted bytes.
    public struct Limits: Hashable, Sendable {
        /// Largest whole message accepted; larger declared lengths are refused before buffering.
        public var maximumMessageSize: Int
        /// Deepest nesting of constructed elements accepted (a filter of depth d nests about 2d).
        public var maximumDepth: Int

        public init(maximumMessageSize: Int = 4 << 20, maximumDepth: Int = 40) {
            self.maximumMessageSize = maximumMessageSize
            self.maximumDepth = min(maximumDepth, 48)  // swift-asn1 itself stops at 50
        }

        /// For servers: requests are small, so a tighter bound costs nothing.
        public static let server = Limits(maximumMessageSize: 1 << 20, maximumDepth: 40)
        /// For clients: a search entry with many values can be large.
        public static let client = Limits(maximumMessageSize: 64 << 20, maximumDepth: 40)
    }

    /// Decodes one complete message from the front of `bytes`.
    ///
    /// - Returns: the message and the number of bytes it occupied, or nil if more bytes are
    ///   needed.
    /// - Throws: ``LDAPCodecError`` for anything that breaks the framing, the limits or the grammar.
    public static func decode(from bytes: ArraySlice<UInt8>, limits: Limits = Limits()) throws -> (message: LDAPMessage, length: Int)? {
        switch try BERFrame.status(of: bytes, maximumMessageSize: limits.maximumMessageSize) {
        case .needMoreData:
            return nil
        case .complete(let length):
            let frame = bytes.prefix(length)
            try BERFrame.validate(frame, maximumDepth: limits.maximumDepth)
            let node: ASN1Node
            do {
                node = try BER.parse(frame)
            } catch {
                throw LDAPCodecError.malformed("BER: \(error)")
            }
            return (try LDAPMessage(decoding: node), length)
        }
    }

    /// Decodes a buffer that must hold exactly one whole message (tests, the fuzzer).
    public init(berEncoded bytes: [UInt8], limits: Limits = Limits()) throws {
        guard let (message, length) = try Self.decode(from: bytes[...], limits: limits) else {
            throw LDAPCodecError.truncated("buffer ends before the message does")
        }
        guard length == bytes.count else { throw LDAPCodecError.malformed("\(bytes.count - length) trailing bytes after the message") }
        self = message
    }

    init(decoding node: ASN1Node) throws {
        var children = BERChildren(try node.constructed(.sequence, "LDAPMessage"), "LDAPMessage")
        let id = try children.next("messageID").integer(.integer, "messageID")
        guard id >= 0, let messageID = Int32(exactly: id) else { throw LDAPCodecError.malformed("messageID \(id) out of range") }
        self.messageID = messageID
        let op = try children.next("protocolOp")
        guard op.identifier.tagClass == .application else {
            throw LDAPCodecError.unexpectedTag("protocolOp must be an APPLICATION tag, got \(op.identifier)")
        }
        switch op.identifier.tagNumber {
        case 0: self.protocolOp = .bindRequest(try BindRequest(decoding: op))
        case 1: self.protocolOp = .bindResponse(try BindResponse(decoding: op))
        case 2:
            _ = try op.primitive(.application(2), "UnbindRequest")
            self.protocolOp = .unbindRequest
        case 3: self.protocolOp = .searchRequest(try SearchRequest(decoding: op))
        case 4: self.protocolOp = .searchResultEntry(try SearchResultEntry(decoding: op))
        case 5: self.protocolOp = .searchResultDone(try LDAPResult(decoding: try op.constructed(.application(5), "SearchResultDone"), "SearchResultDone"))
        case 7, 9, 11, 13, 15:
            let tag = op.identifier.tagNumber
            self.protocolOp = .result(tag: tag, try LDAPResult(decoding: try op.constructed(.application(tag), "response"), "response"))
        case 16:
            let target = try op.integer(.application(16), "AbandonRequest")
            guard target >= 0, let targetID = Int32(exactly: target) else { throw LDAPCodecError.malformed("abandon messageID out of range") }
            self.protocolOp = .abandonRequest(messageID: targetID)
        case 19: self.protocolOp = .searchResultReference(try SearchResultReference(decoding: op))
        case 23: self.protocolOp = .extendedRequest(try ExtendedRequest(decoding: op))
        case 24: self.protocolOp = .extendedResponse(try ExtendedResponse(decoding: op))
        case 6, 8, 10, 12, 14, 25: self.protocolOp = .unsupported(tag: op.identifier.tagNumber)
        default:
            throw LDAPCodecError.unexpectedTag("unknown protocolOp [APPLICATION \(op.identifier.tagNumber)]")
        }
        var controls: [LDAPControl] = []
        if let controlsNode = children.optional(.context(0)) {
            for control in try controlsNode.constructed(.context(0), "controls") {
                controls.append(try LDAPControl(decoding: control))
            }
        }
        self.controls = controls
    }

    /// The message's BER encoding (DER, which is valid BER).
    public func serialize(into coder: inout DER.Serializer) throws {
        guard self.messageID >= 0 else { throw LDAPCodecError.malformed("messageID must not be negative") }
        var failure: LDAPCodecError?
        coder.appendConstructedNode(identifier: .sequence) { coder in
            coder.appendInteger(Int64(self.messageID))
            switch self.protocolOp {
            case .bindRequest(let request): request.serialize(into: &coder)
            case .bindResponse(let response): response.serialize(into: &coder)
            case .unbindRequest: coder.appendPrimitiveNode(identifier: .application(2)) { _ in }
            case .searchRequest(let request): request.serialize(into: &coder)
            case .searchResultEntry(let entry): entry.serialize(into: &coder)
            case .searchResultDone(let result):
                coder.appendConstructedNode(identifier: .application(5)) { result.serializeComponents(into: &$0) }
            case .searchResultReference(let reference): reference.serialize(into: &coder)
            case .abandonRequest(let messageID): coder.appendInteger(Int64(messageID), identifier: .application(16))
            case .extendedRequest(let request): request.serialize(into: &coder)
            case .extendedResponse(let response): response.serialize(into: &coder)
            case .result(let tag, let result):
                coder.appendConstructedNode(identifier: .application(tag)) { result.serializeComponents(into: &$0) }
            case .unsupported(let tag):
                failure = LDAPCodecError.malformed("cannot encode an unsupported operation [APPLICATION \(tag)]")
            }
            if !self.controls.isEmpty {
                coder.appendConstructedNode(identifier: .context(0)) { coder in
                    for control in self.controls { control.serialize(into: &coder) }
                }
            }
        }
        if let failure { throw failure }
    }

    /// The message's BER encoding as bytes.
    public func berEncoded() throws -> [UInt8] {
        var coder = DER.Serializer()
        try self.serialize(into: &coder)
        return coder.serializedBytes
    }
}
