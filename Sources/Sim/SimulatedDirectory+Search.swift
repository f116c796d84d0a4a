import LDAP
import PrintplaneCore
import Synchronization

extension SimulatedDirectory {
    /// AD's text for a search on a connection that has not bound (MS-ADTS 5.1.3; error 000004DC).
    static let bindRequiredDiagnostic =
        "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563"

    /// The outcome of one search, before faults are applied.
    struct SearchOutcome {
        var entries: [SearchResultEntry]
        var result: LDAPResult
        var controls: [LDAPControl]
    }

    /// Runs a search the way AD does: RootDSE, scopes, filters (1941/803/804 included),
    /// attribute selection, size limits, MaxPageSize, and paged results with cookies.
    func search(_ request: SearchRequest, controls: [LDAPControl], session: LDAPSession, maxPageSize: Int, cache: PagedSearchCache? = nil) -> SearchOutcome {
        if request.baseObject.isEmpty && request.scope == .baseObject {
            let rootDSE = self.rootDSE()
            let matches = request.filter.matches(rootDSE, in: self)
            let selected = matches ? [Self.select(rootDSE, request: request, includeAllOperational: true)] : []
            return SearchOutcome(entries: selected, result: .success, controls: [])
        }
        guard session.boundDN != nil else {
            return SearchOutcome(entries: [], result: LDAPResult(.operationsError, diagnosticMessage: Self.bindRequiredDiagnostic), controls: [])
        }
        let paging: PagedResultsControl?
        do {
            paging = try controls.lazy.compactMap { try PagedResultsControl($0) }.first
        } catch {
            return SearchOutcome(entries: [], result: LDAPResult(.protocolError, diagnosticMessage: "\(error)"), controls: [])
        }
        let base: DistinguishedName
        do {
            base = try DistinguishedName(request.baseObject)
        } catch {
            return SearchOutcome(entries: [], result: LDAPResult(.invalidDNSyntax, diagnosticMessage: "0000208F: NameErr: DSID-03100225, problem 2006 (BAD_NAME), data 8350, best match of:\n\t'\(request.baseObject)'\n"), controls: [])
        }
        guard let baseIndex = self.index(normalizedDN: base.normalized) else {
            return SearchOutcome(entries: [], result: LDAPResult(
                .noSuchObject,
                matchedDN: self.closestAncestor(of: base),
                diagnosticMessage: "0000208D: NameErr: DSID-03100241, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'\(self.closestAncestor(of: base))'\n"), controls: [])
        }

        // Later pages of a paged search reuse the first page's matches, as AD keeps paged
        // search state; the cookie's fingerprint says which search it belongs to.
        let fingerprint = Self.fingerprint(request)
        let matches: [Int]
        if let paging, !paging.cookie.isEmpty, let cached = cache?.matches(for: fingerprint) {
            matches = cached
        } else {
            matches = self.matchingIndexes(request, baseIndex: baseIndex)
            if paging != nil { cache?.store(matches, for: fingerprint) }
        }

        let sizeLimit = request.sizeLimit > 0 ? request.sizeLimit : Int.max
        guard let paging else {
            // Without paging AD stops at MaxPageSize and says so with sizeLimitExceeded.
            let limit = min(sizeLimit, maxPageSize)
            let returned = matches.prefix(limit).map { Self.select(self.entries[$0], request: request) }
            let result = matches.count > limit
                ? LDAPResult(.sizeLimitExceeded, diagnosticMessage: "Size limit exceeded")
                : LDAPResult.success
            return SearchOutcome(entries: returned, result: result, controls: [])
        }

        // Paged: the cookie names the offset and a fingerprint of the request it belongs to.
        var offset = 0
        if !paging.cookie.isEmpty {
            guard let decoded = PageCookie(paging.cookie), decoded.fingerprint == fingerprint, decoded.offset <= matches.count else {
                return SearchOutcome(entries: [], result: LDAPResult(.unwillingToPerform, diagnosticMessage: "00002024: SvcErr: DSID-02060A7E, problem 5003 (WILL_NOT_PERFORM), data 0 (invalid paged results cookie)"), controls: [])
            }
            offset = decoded.offset
        }
        if paging.size == 0 {
            // RFC 2696 §3: a size of zero abandons the paged search.
            return SearchOutcome(entries: [], result: .success, controls: [PagedResultsControl(size: 0).control()])
        }
        let pageSize = min(paging.size, maxPageSize)
        let end = min(matches.count, offset + pageSize, sizeLimit)
        let page = offset < end ? matches[offset..<end].map { Self.select(self.entries[$0], request: request) } : []
        if end >= sizeLimit && matches.count > sizeLimit {
            return SearchOutcome(entries: page, result: LDAPResult(.sizeLimitExceeded, diagnosticMessage: "Size limit exceeded"), controls: [PagedResultsControl(size: 0).control()])
        }
        let cookie = end < matches.count ? PageCookie(offset: end, fingerprint: fingerprint).bytes : []
        return SearchOutcome(entries: page, result: .success, controls: [PagedResultsControl(size: 0, cookie: cookie).control()])
    }

    /// The indexes of the entries in scope that match, in a stable order so pages line up.
    func matchingIndexes(_ request: SearchRequest, baseIndex: Int) -> [Int] {
        let filter = self.resolvingObjectCategories(request.filter)
        if let candidate = self.indexedCandidate(filter) {
            // AD answers a lookup by sAMAccountName or UPN from an index, not by walking the
            // domain; so does this. The candidate still has to be in scope and match the
            // whole filter.
            guard let index = candidate, self.isInScope(index, of: baseIndex, request.scope),
                  filter.matches(self.entries[index], in: self) else { return [] }
            return [index]
        }
        var matches: [Int] = []
        let consider: (Int) -> Void = { index in
            if filter.matches(self.entries[index], in: self) { matches.append(index) }
        }
        switch request.scope {
        case .baseObject:
            consider(baseIndex)
        case .singleLevel:
            self.childIndexes(ofIndex: baseIndex).forEach(consider)
        case .wholeSubtree:
            var stack = [baseIndex]
            while let index = stack.popLast() {
                consider(index)
                stack += self.childIndexes(ofIndex: index).reversed()
            }
        }
        return matches
    }

    /// When the filter can only match the one entry holding a unique indexed value
    /// (`(sAMAccountName=x)` or `(userPrincipalName=x)`, alone or in an AND): `.some(index)`
    /// for that entry, `.some(nil)` when no entry holds it. `nil` when the filter needs a scan.
    ///
    /// Only ASCII assertions use the index: the filter's caseIgnoreMatch folds ASCII only,
    /// which is what the index's lower-cased keys agree with.
    func indexedCandidate(_ filter: LDAPFilter) -> Int?? {
        switch filter {
        case .equality(let attribute, let value) where value.allSatisfy({ $0 < 0x80 }):
            let key = String(decoding: value, as: UTF8.self).lowercased()
            switch attribute.lowercased() {
            case "samaccountname": return .some(self.indexOfAccount(sAMAccountName: key))
            case "userprincipalname": return .some(self.indexOfAccount(userPrincipalName: key))
            default: return nil
            }
        case .and(let filters):
            for inner in filters {
                if let candidate = self.indexedCandidate(inner) { return candidate }
            }
            return nil
        default:
            return nil
        }
    }

    /// Whether the entry at `index` lies within `scope` of the entry at `baseIndex`.
    func isInScope(_ index: Int, of baseIndex: Int, _ scope: SearchRequest.Scope) -> Bool {
        switch scope {
        case .baseObject: return index == baseIndex
        case .singleLevel: return self.entries[index].dn.parent?.normalized == self.entries[baseIndex].dn.normalized
        case .wholeSubtree: return self.entries[index].dn.isDescendant(of: self.entries[baseIndex].dn)
        }
    }

    /// AD lets `(objectCategory=person)` name a class; the value stands for that class's
    /// defaultObjectCategory DN in the schema (user → Person, as in AD).
    func resolvingObjectCategories(_ filter: LDAPFilter) -> LDAPFilter {
        switch filter {
        case .and(let filters): return .and(filters.map(self.resolvingObjectCategories))
        case .or(let filters): return .or(filters.map(self.resolvingObjectCategories))
        case .not(let inner): return .not(self.resolvingObjectCategories(inner))
        case .equality(let attribute, let value) where attribute.lowercased() == "objectcategory" && !value.contains(UInt8(ascii: "=")):
            let categories = [
                "person": "Person", "user": "Person", "contact": "Person", "computer": "Computer", "group": "Group",
                "organizationalunit": "Organizational-Unit", "container": "Container", "domaindns": "Domain-DNS", "domain": "Domain-DNS",
            ]
            let name = String(decoding: value, as: UTF8.self)
            let category = categories[name.lowercased()] ?? name
            return .equality(attribute: attribute, value: Array("CN=\(category),CN=Schema,CN=Configuration,\(self.baseDN.description)".utf8))
        default: return filter
        }
    }

    private func closestAncestor(of dn: DistinguishedName) -> String {
        var current = dn.parent
        while let candidate = current {
            if let index = self.index(normalizedDN: candidate.normalized) { return self.entries[index].dn.description }
            current = candidate.parent
        }
        return ""
    }

    /// Attribute selection (RFC 4511 §4.5.1.8): none or `*` for all user attributes, `1.1` for
    /// none, otherwise the named ones; typesOnly drops the values.
    static func select(_ entry: DirectoryEntry, request: SearchRequest, includeAllOperational: Bool = false) -> SearchResultEntry {
        let wanted = request.attributes
        let all = wanted.isEmpty || wanted.contains("*") || (includeAllOperational && wanted.contains("+"))
        var attributes: [LDAPAttribute]
        if all {
            attributes = entry.attributes
        } else if wanted == ["1.1"] {
            attributes = []
        } else {
            let names = Set(wanted.map { $0.lowercased() })
            attributes = entry.attributes.filter { names.contains($0.type.lowercased()) }
        }
        if request.typesOnly {
            attributes = attributes.map { LDAPAttribute(type: $0.type, values: []) }
        }
        return SearchResultEntry(objectName: entry.dn.description, attributes: attributes)
    }

    /// The RootDSE (RFC 4512 §5.1), as AD publishes it to anonymous clients.
    func rootDSE() -> DirectoryEntry {
        let base = self.baseDN.description
        var entry = DirectoryEntry(dn: .root, attributes: [])
        entry.add("objectClass", "top")
        entry.add("namingContexts", base, "CN=Configuration,\(base)", "CN=Schema,CN=Configuration,\(base)")
        entry.add("defaultNamingContext", base)
        entry.add("rootDomainNamingContext", base)
        entry.add("configurationNamingContext", "CN=Configuration,\(base)")
        entry.add("schemaNamingContext", "CN=Schema,CN=Configuration,\(base)")
        entry.add("subschemaSubentry", "CN=Aggregate,CN=Schema,CN=Configuration,\(base)")
        entry.add("supportedControl", PagedResultsControl.oid, LDAPControl.domainScopeOID)
        entry.add("supportedExtension", ExtendedRequest.startTLSOID, ExtendedRequest.whoAmIOID)
        entry.add("supportedLDAPVersion", "3", "2")
        entry.add("supportedSASLMechanisms", "EXTERNAL")
        entry.add("supportedCapabilities", "1.2.840.113556.1.4.800")
        entry.add("dnsHostName", "dc01.\(self.domain)")
        entry.add("ldapServiceName", "\(self.domain):dc01$@\(self.domain.uppercased())")
        entry.add("serverName", "CN=DC01,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,\(base)")
        entry.add("domainFunctionality", "7")
        entry.add("forestFunctionality", "7")
        entry.add("domainControllerFunctionality", "7")
        entry.add("isSynchronized", "TRUE")
        entry.add("isGlobalCatalogReady", "FALSE")
        entry.add("vendorName", "Printplane simulated Active Directory")
        return entry
    }

    static func fingerprint(_ request: SearchRequest) -> UInt64 {
        // FNV-1a over the parts that define the result set; stable across processes.
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 {
                hash ^= UInt64(LDAPCaseFold.fold(byte))
                hash = hash &* 0x0000_0100_0000_01B3
            }
            hash ^= 0xFF
            hash = hash &* 0x0000_0100_0000_01B3
        }
        mix(DistinguishedName.normalize(request.baseObject))
        mix(String(request.scope.rawValue))
        mix(request.filter.description)
        return hash
    }
}

enum LDAPCaseFold {
    static func fold(_ byte: UInt8) -> UInt8 { (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte }
}

/// The opaque paged-results cookie: 8 bytes of offset and 8 of request fingerprint, so the
/// server stays stateless and a cookie from another search is refused.
struct PageCookie: Equatable {
    var offset: Int
    var fingerprint: UInt64

    init(offset: Int, fingerprint: UInt64) {
        self.offset = offset
        self.fingerprint = fingerprint
    }

    init?(_ bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        var offset: UInt64 = 0
        var fingerprint: UInt64 = 0
        for byte in bytes[0..<8] { offset = offset << 8 | UInt64(byte) }
        for byte in bytes[8..<16] { fingerprint = fingerprint << 8 | UInt64(byte) }
        guard offset <= UInt64(Int.max) else { return nil }
        self.offset = Int(offset)
        self.fingerprint = fingerprint
    }

    var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: UInt64(self.offset) >> (56 - $0 * 8)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: self.fingerprint >> (56 - $0 * 8)) }
    }
}

/// The matches of recent paged searches, by request fingerprint (a small, bounded cache).
final class PagedSearchCache: Sendable {
    private let state = Mutex<[(fingerprint: UInt64, matches: [Int])]>([])
    private let capacity: Int

    init(capacity: Int = 16) {
        self.capacity = capacity
    }

    func matches(for fingerprint: UInt64) -> [Int]? {
        self.state.withLock { entries in entries.first { $0.fingerprint == fingerprint }?.matches }
    }

    func removeAll() {
        self.state.withLock { $0.removeAll() }
    }

    func store(_ matches: [Int], for fingerprint: UInt64) {
        self.state.withLock { entries in
            entries.removeAll { $0.fingerprint == fingerprint }
            entries.insert((fingerprint, matches), at: 0)
            if entries.count > self.capacity { entries.removeLast() }
        }
    }
}
