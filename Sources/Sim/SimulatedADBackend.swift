import LDAP
import Synchronization

/// The simulated AD's answers to binds, searches and the admin operation, with the faults in
/// force applied. Shared by every connection; all state it reads is immutable or locked.
public struct SimulatedADBackend: LDAPServerBackend {
    /// The admin extended operation that switches faults at run time. Its value is a fault
    /// command (`latency=200ms,refuse=on`, `reset`, or empty to read the current faults); it
    /// requires a bind as Administrator. 1.3.6.1.4.1.32473 is the documentation arc (RFC 5612).
    public static let faultOperationOID = "1.3.6.1.4.1.32473.1.1"

    /// AD's diagnostics for failed binds (MS-ADTS 3.1.1.3.1.1 / Win32 error codes in `data`).
    public static let invalidCredentialsDiagnostic =
        "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 52e, v4563"
    public static let accountDisabledDiagnostic =
        "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 533, v4563"

    /// The directory served right now (see ``replaceDirectory(_:)``).
    public var directory: SimulatedDirectory { self.current.withLock { $0 } }
    public let faults: SimulatedADFaultSwitch
    public let maxPageSize: Int
    private let current: SharedDirectory
    private let pagedSearches = PagedSearchCache()

    public init(directory: SimulatedDirectory, faults: SimulatedADFaultSwitch, maxPageSize: Int = 1000) {
        self.current = SharedDirectory(directory)
        self.faults = faults
        self.maxPageSize = maxPageSize
    }

    /// Serves `directory` from the next operation on, as a domain controller does after a change
    /// (a membership edit, say). Paged searches in progress start over from their first page.
    public func replaceDirectory(_ directory: SimulatedDirectory) {
        self.current.withLock { $0 = directory }
        self.pagedSearches.removeAll()
    }

    public var supportedControls: Set<String> { [PagedResultsControl.oid, LDAPControl.domainScopeOID] }

    public func bind(_ request: BindRequest, controls: [LDAPControl], session: LDAPSession) -> LDAPBindReply {
        let faults = self.faults.current
        let directory = self.directory
        let delay = faults.latency + faults.bindDelay
        guard case .simple(let passwordBytes) = request.authentication else {
            return LDAPBindReply(result: LDAPResult(.authMethodNotSupported, diagnosticMessage: "only simple binds are simulated"), delay: delay)
        }
        let password = String(decoding: passwordBytes, as: UTF8.self)
        if request.name.isEmpty && password.isEmpty {
            // Anonymous bind: allowed, but AD then refuses every search except the RootDSE.
            return LDAPBindReply(result: .success, boundDN: nil, delay: delay)
        }
        if password.isEmpty {
            // RFC 4513 §5.1.2: unauthenticated binds should be refused.
            return LDAPBindReply(result: LDAPResult(.unwillingToPerform, diagnosticMessage: "00002028: LdapErr: DSID-0C090255, comment: unauthenticated bind is not allowed, data 0, v4563"), delay: delay)
        }
        // The reject-binds fault spares Administrator, so the admin switch can always undo it.
        guard let account = directory.account(named: request.name),
              let sam = account.string("sAMAccountName"),
              password == directory.password(for: sam),
              !faults.rejectBinds || sam.lowercased() == "administrator"
        else {
            return LDAPBindReply(result: LDAPResult(.invalidCredentials, diagnosticMessage: Self.invalidCredentialsDiagnostic), delay: delay)
        }
        let control = Int(account.string("userAccountControl") ?? "0") ?? 0
        if control & 0x2 != 0 {
            return LDAPBindReply(result: LDAPResult(.invalidCredentials, diagnosticMessage: Self.accountDisabledDiagnostic), delay: delay)
        }
        return LDAPBindReply(result: .success, boundDN: account.dn.description, delay: delay)
    }

    public func search(_ request: SearchRequest, controls: [LDAPControl], session: LDAPSession) -> LDAPSearchReply {
        let faults = self.faults.current
        let outcome = self.directory.search(request, controls: controls, session: session, maxPageSize: self.maxPageSize, cache: self.pagedSearches)
        return LDAPSearchReply(
            entries: outcome.entries,
            result: outcome.result,
            controls: outcome.controls,
            delay: faults.latency,
            disconnectAfterEntries: faults.dropSearchAfterEntries
        )
    }

    public func authorizationID(for session: LDAPSession) -> String {
        // AD answers "Who am I?" with the down-level logon name.
        guard let dn = session.boundDN, let account = self.directory.entry(dn: dn), let sam = account.string("sAMAccountName") else {
            return ""
        }
        return "u:\(self.directory.netbiosName)\\\(sam)"
    }

    public func extended(_ request: ExtendedRequest, session: LDAPSession) -> ExtendedResponse? {
        guard request.name == Self.faultOperationOID else { return nil }
        guard let dn = session.boundDN, self.directory.entry(dn: dn)?.string("sAMAccountName")?.lowercased() == "administrator" else {
            return ExtendedResponse(result: LDAPResult(.insufficientAccessRights, diagnosticMessage: "switching faults requires a bind as Administrator"))
        }
        do {
            let command = String(decoding: request.value ?? [], as: UTF8.self)
            let faults = try self.faults.apply(command)
            return ExtendedResponse(result: .success, value: Array(faults.description.utf8))
        } catch {
            return ExtendedResponse(result: LDAPResult(.unwillingToPerform, diagnosticMessage: "\(error)"))
        }
    }
}

/// The directory the backend serves, shared by every copy of the backend (one per connection).
final class SharedDirectory: Sendable {
    private let state: Mutex<SimulatedDirectory>

    init(_ directory: SimulatedDirectory) {
        self.state = Mutex(directory)
    }

    func withLock<Result>(_ body: (inout SimulatedDirectory) -> Result) -> Result {
        self.state.withLock { body(&$0) }
    }
}
