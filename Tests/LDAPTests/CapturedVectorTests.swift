import LDAP
import NIOCore
import NIOTestUtils
import SwiftASN1
import Testing

/// Round trips against bytes captured from ldap-utils talking to OpenLDAP slapd
/// (Vectors/capture.py): decoding must understand them and encoding must reproduce them.
@Suite struct CapturedVectorTests {
    @Test(arguments: CapturedVectors.all.map(\.name))
    func decodesAndReencodesByteForByte(name: String) throws {
        let bytes = [UInt8](hex: CapturedVectors.all.first { $0.name == name }!.hex)
        let message = try LDAPMessage(berEncoded: bytes)
        #expect(try message.berEncoded() == bytes, "\(name) re-encodes differently")
    }

    @Test func bindRequestCarriesNameAndSimplePassword() throws {
        let message = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.pagedSearchBindRequest))
        #expect(message.messageID == 1)
        #expect(message.protocolOp == .bindRequest(BindRequest(version: 3, name: "CN=admin,DC=corp,DC=example,DC=com", authentication: .simple(password: Array("secret".utf8)))))
    }

    @Test func bindResponseIsSuccess() throws {
        let message = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.pagedSearchBindResponse))
        #expect(message.protocolOp == .bindResponse(BindResponse(result: .success)))
    }

    @Test func pagedSearchRequestCarriesFilterAttributesAndControl() throws {
        let message = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.pagedSearchSearchRequest))
        guard case .searchRequest(let request) = message.protocolOp else { Issue.record("not a search"); return }
        #expect(request.baseObject == "DC=corp,DC=example,DC=com")
        #expect(request.scope == .wholeSubtree)
        #expect(request.filter == (try LDAPFilter(parsing: "(&(objectClass=user)(sAMAccountName=alice*))")))
        #expect(request.attributes == ["cn", "objectSid", "memberOf"])
        let paging = try message.controls.compactMap { try PagedResultsControl($0) }.first
        #expect(paging == PagedResultsControl(size: 2, cookie: []))
    }

    @Test func searchResultEntryHasBinarySid() throws {
        let message = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.pagedSearchSearchResultEntry))
        guard case .searchResultEntry(let entry) = message.protocolOp else { Issue.record("not an entry"); return }
        #expect(entry.objectName.lowercased().hasPrefix("cn=alice"))
        let sid = try #require(entry.values(of: "OBJECTSID").first)
        #expect(sid.count == 28 && sid[0] == 1 && sid[1] == 5)
        #expect(!entry.strings(of: "memberof").isEmpty)
    }

    @Test func searchResultDoneReturnsACookie() throws {
        let message = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.pagedSearchSearchResultDone))
        #expect(message.protocolOp == .searchResultDone(.success))
        let paging = try #require(try message.controls.compactMap { try PagedResultsControl($0) }.first)
        #expect(!paging.cookie.isEmpty)
    }

    @Test func unbindRequest() throws {
        let message = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.pagedSearchUnbindRequest))
        #expect(message.protocolOp == .unbindRequest)
    }

    @Test func inChainAndBitwiseFiltersDecodeAsExtensibleMatches() throws {
        let inChain = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.inChainSearchRequest))
        guard case .searchRequest(let request) = inChain.protocolOp else { Issue.record("not a search"); return }
        #expect(request.filter == .extensible(matchingRule: LDAPFilter.inChainRule, attribute: "memberOf", value: Array("CN=All Staff,OU=Groups,DC=corp,DC=example,DC=com".utf8), dnAttributes: false))
        #expect(request.attributes == ["1.1"])

        let bitwise = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.bitwiseSearchRequest))
        guard case .searchRequest(let second) = bitwise.protocolOp else { Issue.record("not a search"); return }
        #expect(second.scope == .singleLevel)
        #expect(second.sizeLimit == 10)
        #expect(second.filter.description == "(&(objectCategory=person)(!(userAccountControl:1.2.840.113556.1.4.803:=2))(|(groupType:1.2.840.113556.1.4.804:=6)(cn=*)))")
    }

    @Test func everyFilterKindSurvivesTheTrip() throws {
        let message = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.allFilterKindsSearchRequest))
        guard case .searchRequest(let request) = message.protocolOp else { Issue.record("not a search"); return }
        #expect(request.typesOnly)
        #expect(request.filter.description == "(&(primaryGroupID>=513)(userAccountControl<=600)(cn~=alice)(mail=*)(cn=a*b*c)(sAMAccountName=\\2a\\28x\\29)(cn:dn:2.5.13.2:=Users))")
    }

    @Test func domainScopeControlIsCritical() throws {
        let message = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.domainScopeSearchRequest))
        #expect(message.controls.contains(LDAPControl.domainScope(criticality: true)))
    }

    @Test func whoAmIRequestAndResponse() throws {
        let request = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.whoAmIExtendedRequest))
        #expect(request.protocolOp == .extendedRequest(.whoAmI))
        let response = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.whoAmIExtendedResponse))
        guard case .extendedResponse(let extended) = response.protocolOp else { Issue.record("not extended"); return }
        #expect(extended.result.resultCode == .success)
        #expect(String(decoding: extended.value ?? [], as: UTF8.self).lowercased() == "dn:cn=admin,dc=corp,dc=example,dc=com")
    }

    @Test func startTLSRequestAndRefusal() throws {
        let request = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.startTLSExtendedRequest))
        #expect(request.protocolOp == .extendedRequest(.startTLS))
        // This slapd has no TLS configured: it answers protocolError with a diagnostic.
        let response = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.startTLSExtendedResponse))
        guard case .extendedResponse(let extended) = response.protocolOp else { Issue.record("not extended"); return }
        #expect(extended.result.resultCode == .protocolError)
        #expect(!extended.result.diagnosticMessage.isEmpty)
    }

    @Test func searchResultReference() throws {
        let message = try LDAPMessage(berEncoded: [UInt8](hex: CapturedVectors.referralSearchResultReference))
        guard case .searchResultReference(let reference) = message.protocolOp else { Issue.record("not a reference"); return }
        #expect(reference.uris.first?.hasPrefix("ldap://dc02.other.example.com/") == true)
    }

    /// RFC 4511 §4.11's AbandonRequest: `[APPLICATION 16] MessageID`; ldap-utils send it
    /// only on interrupts, so this vector is written from the grammar.
    @Test func abandonRequest() throws {
        let bytes: [UInt8] = [0x30, 0x06, 0x02, 0x01, 0x07, 0x50, 0x01, 0x05]
        let message = try LDAPMessage(berEncoded: bytes)
        #expect(message.protocolOp == .abandonRequest(messageID: 5))
        #expect(try message.berEncoded() == bytes)
    }

    @Test func decoderHandlesCapturedStreamInAnySlicing() throws {
        let stream = CapturedVectors.all.filter { $0.name.hasPrefix("pagedSearch") }
        let pairs = try stream.map { vector -> (ByteBuffer, [LDAPMessage]) in
            let bytes = [UInt8](hex: vector.hex)
            return (ByteBuffer(bytes: bytes), [try LDAPMessage(berEncoded: bytes)])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            LDAPMessageDecoder()
        }
    }
}
