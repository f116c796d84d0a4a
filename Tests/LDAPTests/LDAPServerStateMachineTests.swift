import LDAP
import Testing

@Suite struct LDAPServerStateMachineTests {
    func machine(secure: Bool = false, startTLS: Bool = true) -> LDAPServerStateMachine {
        LDAPServerStateMachine(isSecure: secure, startTLSAvailable: startTLS, supportedControls: [PagedResultsControl.oid])
    }

    @Test func bindAndSearchGoToTheBackend() {
        var machine = self.machine()
        let bind = BindRequest.simple(name: "CN=a", password: "p")
        #expect(machine.received(LDAPMessage(messageID: 1, .bindRequest(bind))) == .bind(messageID: 1, bind, controls: []))
        machine.bindCompleted(boundDN: "CN=a")
        #expect(machine.session.boundDN == "CN=a")
        let search = SearchRequest(baseObject: "DC=x")
        #expect(machine.received(LDAPMessage(messageID: 2, .searchRequest(search))) == .search(messageID: 2, search, controls: []))
        // A new bind drops the old identity until it succeeds (RFC 4511 §4.2.1).
        _ = machine.received(LDAPMessage(messageID: 3, .bindRequest(bind)))
        #expect(machine.session.boundDN == nil)
    }

    @Test func ldapv2BindIsRefused() {
        var machine = self.machine()
        let action = machine.received(LDAPMessage(messageID: 1, .bindRequest(BindRequest(version: 2, name: "", authentication: .simple(password: [])))))
        guard case .reply(let messages) = action, case .bindResponse(let response) = messages.first?.protocolOp else {
            Issue.record("expected a bind response"); return
        }
        #expect(response.result.resultCode == .protocolError)
    }

    @Test func unknownCriticalControlIsRefusedButNonCriticalIsIgnored() {
        var machine = self.machine()
        let search = SearchRequest(baseObject: "DC=x")
        let critical = LDAPControl(type: "1.2.3.4", criticality: true)
        let action = machine.received(LDAPMessage(messageID: 4, .searchRequest(search), controls: [critical]))
        #expect(action == .reply([LDAPMessage(messageID: 4, .searchResultDone(LDAPResult(.unavailableCriticalExtension, diagnosticMessage: "critical control 1.2.3.4 is not supported")))]))
        let optional = LDAPControl(type: "1.2.3.4", criticality: false)
        #expect(machine.received(LDAPMessage(messageID: 5, .searchRequest(search), controls: [optional])) == .search(messageID: 5, search, controls: [optional]))
    }

    @Test func startTLSOnceAndNothingInBetween() {
        var machine = self.machine()
        guard case .startTLS = machine.received(LDAPMessage(messageID: 1, .extendedRequest(.startTLS))) else {
            Issue.record("expected StartTLS"); return
        }
        // A request before TLS is up is a protocol error that disconnects.
        var racing = machine
        guard case .disconnect(let notice?) = racing.received(LDAPMessage(messageID: 2, .searchRequest(SearchRequest(baseObject: "")))) else {
            Issue.record("expected a disconnect"); return
        }
        #expect(notice.messageID == 0)
        machine.tlsEstablished()
        #expect(machine.session.isSecure)
        guard case .reply(let messages) = machine.received(LDAPMessage(messageID: 3, .extendedRequest(.startTLS))),
              case .extendedResponse(let response) = messages.first?.protocolOp
        else { Issue.record("expected a refusal"); return }
        #expect(response.result.resultCode == .operationsError)
    }

    @Test func startTLSWithoutACertificateIsRefused() {
        var machine = self.machine(startTLS: false)
        guard case .reply(let messages) = machine.received(LDAPMessage(messageID: 1, .extendedRequest(.startTLS))),
              case .extendedResponse(let response) = messages.first?.protocolOp
        else { Issue.record("expected a refusal"); return }
        #expect(response.result.resultCode == .protocolError)
    }

    @Test func writesAreRefusedWithTheMatchingResponse() {
        var machine = self.machine()
        // ModifyRequest is [APPLICATION 6]; its response is [APPLICATION 7].
        guard case .reply(let messages) = machine.received(LDAPMessage(messageID: 9, .unsupported(tag: 6))) else {
            Issue.record("expected a reply"); return
        }
        #expect(messages == [LDAPMessage(messageID: 9, .result(tag: 7, LDAPResult(.unwillingToPerform, diagnosticMessage: "the directory is read-only")))])
    }

    @Test func unbindClosesAndLaterMessagesAreIgnored() {
        var machine = self.machine()
        #expect(machine.received(LDAPMessage(messageID: 1, .unbindRequest)) == .disconnect(notice: nil))
        #expect(machine.received(LDAPMessage(messageID: 2, .searchRequest(SearchRequest(baseObject: "")))) == .none)
    }

    @Test func aClientSendingResponsesIsDisconnected() {
        var machine = self.machine()
        guard case .disconnect(let notice?) = machine.received(LDAPMessage(messageID: 1, .bindResponse(BindResponse(result: .success)))),
              case .extendedResponse(let response) = notice.protocolOp
        else { Issue.record("expected a disconnect"); return }
        #expect(response.result.resultCode == .protocolError)
        #expect(response.name == ExtendedResponse.noticeOfDisconnectionOID)
    }

    @Test func whoAmIAndUnknownExtendedOperationsGoToTheBackend() {
        var machine = self.machine()
        #expect(machine.received(LDAPMessage(messageID: 1, .extendedRequest(.whoAmI))) == .whoAmI(messageID: 1))
        let custom = ExtendedRequest(name: "1.2.3", value: [1])
        #expect(machine.received(LDAPMessage(messageID: 2, .extendedRequest(custom))) == .extended(messageID: 2, custom))
    }
}
