import LDAP
import NIOCore
import NIOEmbedded
import Testing

/// Hostile and broken input: each case is a protocol error, raised without buffering the
/// claimed length and without recursion.
@Suite struct BadInputTests {
    static let valid = [UInt8](hex: CapturedVectors.pagedSearchBindRequest)

    @Test func truncatedMessageNeedsMoreDataOnAStreamAndFailsWhenComplete() throws {
        let truncated = Array(Self.valid.dropLast(3))
        #expect(try LDAPMessage.decode(from: truncated[...]) == nil)
        #expect(throws: LDAPCodecError.truncated()) { try LDAPMessage(berEncoded: truncated) }
    }

    @Test func innerLengthPastTheEndOfItsContainer() throws {
        // The outer SEQUENCE is complete, but the messageID INTEGER claims 100 bytes.
        let bytes: [UInt8] = [0x30, 0x05, 0x02, 0x64, 0x01, 0x42, 0x00]
        #expect(throws: LDAPCodecError.lengthPastEnd()) { try LDAPMessage(berEncoded: bytes) }
    }

    @Test func nestingBeyondTheLimit() throws {
        // A filter of 200 nested NOTs: (!(!(!...(cn=x)...))).
        var filter = LDAPFilter.equality(attribute: "cn", value: Array("x".utf8))
        for _ in 0..<200 { filter = .not(filter) }
        let message = LDAPMessage(messageID: 2, .searchRequest(SearchRequest(baseObject: "", filter: filter)))
        let bytes = try message.berEncoded()
        #expect(throws: LDAPCodecError.nestingTooDeep(limit: 40)) { try LDAPMessage(berEncoded: bytes) }
        // A shallow filter with the same shape is fine.
        var shallow = LDAPFilter.equality(attribute: "cn", value: Array("x".utf8))
        for _ in 0..<10 { shallow = .not(shallow) }
        let ok = try LDAPMessage(messageID: 2, .searchRequest(SearchRequest(baseObject: "", filter: shallow))).berEncoded()
        #expect(try LDAPMessage(berEncoded: ok).messageID == 2)
    }

    @Test func hugeLengthPrefixIsRefusedFromTheHeaderAlone() throws {
        // Claims 4 GiB; only the six header bytes exist. Must throw now, not wait for data.
        let header: [UInt8] = [0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: LDAPCodecError.messageTooLarge(length: 0, maximum: 0)) { try LDAPMessage.decode(from: header[...]) }
        let tooManyOctets: [UInt8] = [0x30, 0x89, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]
        #expect(throws: LDAPCodecError.lengthPrefixTooLong(octets: 9)) { try LDAPMessage.decode(from: tooManyOctets[...]) }
    }

    @Test func indefiniteLengthIsRefused() throws {
        let bytes: [UInt8] = [0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00]
        #expect(throws: LDAPCodecError.indefiniteLength()) { try LDAPMessage(berEncoded: bytes) }
    }

    @Test func wrongOuterTag() throws {
        #expect(throws: LDAPCodecError.unexpectedTag("")) { try LDAPMessage.decode(from: [0x04, 0x00][...]) }
    }

    @Test func grammarViolations() throws {
        // BindRequest with version 200.
        let badVersion: [UInt8] = [0x30, 0x0D, 0x02, 0x01, 0x01, 0x60, 0x08, 0x02, 0x02, 0x00, 0xC8, 0x04, 0x00, 0x80, 0x00]
        #expect(throws: LDAPCodecError.malformed("")) { try LDAPMessage(berEncoded: badVersion) }
        // Negative messageID.
        let negativeID: [UInt8] = [0x30, 0x05, 0x02, 0x01, 0xFF, 0x42, 0x00]
        #expect(throws: LDAPCodecError.malformed("")) { try LDAPMessage(berEncoded: negativeID) }
        // Unknown protocolOp [APPLICATION 30].
        let unknownOp: [UInt8] = [0x30, 0x05, 0x02, 0x01, 0x01, 0x5E, 0x00]
        #expect(throws: LDAPCodecError.unexpectedTag("")) { try LDAPMessage(berEncoded: unknownOp) }
    }

    /// The server handler answers each kind of bad input with a Notice of Disconnection
    /// (protocolError, messageID 0) and closes the connection.
    @Test(arguments: [
        ("truncated then EOF", Array(valid.dropLast(3))),
        ("length past end", [0x30, 0x05, 0x02, 0x64, 0x01, 0x42, 0x00] as [UInt8]),
        ("huge length prefix", [0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF] as [UInt8]),
        ("indefinite length", [0x30, 0x80, 0x02, 0x01, 0x01] as [UInt8]),
    ])
    func serverDisconnectsWithANotice(name: String, bytes: [UInt8]) throws {
        let channel = EmbeddedChannel()
        try LDAPServerHandler.configure(channel: channel, backend: RefusingBackend(), startTLS: nil, isSecure: false, logger: .init(label: "test"))
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 389)).wait()
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        if name.hasPrefix("truncated") {
            // Still waiting for the rest: nothing sent, connection open, until EOF.
            #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
            #expect(channel.isActive)
            channel.pipeline.fireChannelInactive()
            #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
            return
        }
        let out = try #require(try channel.readOutbound(as: ByteBuffer.self))
        let notice = try LDAPMessage(berEncoded: Array(out.readableBytesView))
        #expect(notice.messageID == 0)
        guard case .extendedResponse(let response) = notice.protocolOp else { Issue.record("not a notice"); return }
        #expect(response.name == ExtendedResponse.noticeOfDisconnectionOID)
        #expect(response.result.resultCode == .protocolError)
        #expect(!channel.isActive)
    }
}

/// A backend that refuses everything; enough for protocol-level tests.
struct RefusingBackend: LDAPServerBackend {
    var supportedControls: Set<String> { [PagedResultsControl.oid] }

    func bind(_ request: BindRequest, controls: [LDAPControl], session: LDAPSession) -> LDAPBindReply {
        LDAPBindReply(result: LDAPResult(.invalidCredentials))
    }

    func search(_ request: SearchRequest, controls: [LDAPControl], session: LDAPSession) -> LDAPSearchReply {
        LDAPSearchReply(result: LDAPResult(.insufficientAccessRights))
    }
}
