import PrintplaneCore

/// How values of an attribute compare (RFC 4517 matching rules, reduced to what AD uses).
public enum LDAPAttributeSyntax: Hashable, Sendable {
    /// caseIgnoreMatch / caseIgnoreOrderingMatch / caseIgnoreSubstringsMatch: AD's default.
    case caseIgnoreString
    /// distinguishedNameMatch: compared after DN normalisation.
    case distinguishedName
    /// integerMatch / integerOrderingMatch (userAccountControl, primaryGroupID, …).
    case integer
    /// octetStringMatch: binary values such as objectSid and objectGUID, compared byte for byte.
    case octetString

    /// The syntax AD gives the attributes a directory client meets most, by (case-insensitive) name.
    public static func activeDirectory(_ attribute: String) -> LDAPAttributeSyntax {
        switch String(decoding: LDAPCase.lowercased(attribute.utf8), as: UTF8.self) {
        case "member", "memberof", "manager", "directreports", "distinguishedname", "dn", "objectcategory",
             "managedby", "defaultnamingcontext", "namingcontexts", "rootdomainnamingcontext":
            return .distinguishedName
        case "useraccountcontrol", "primarygroupid", "samaccounttype", "grouptype", "instancetype",
             "uidnumber", "gidnumber", "supportedldapversion", "admincount":
            return .integer
        case "objectsid", "objectguid", "tokengroups", "usercertificate", "thumbnailphoto":
            return .octetString
        default:
            return .caseIgnoreString
        }
    }
}

/// What a filter needs from a directory to evaluate it against one of its entries.
///
/// The in-chain rule (1941) follows DN-valued attributes from entry to entry, so evaluation is
/// not a pure function of one entry: it asks the context to resolve DNs.
public protocol LDAPFilterContext {
    associatedtype Entry

    /// The values of `attribute` (matched case-insensitively) in `entry`.
    func values(of attribute: String, in entry: Entry) -> [[UInt8]]
    /// The DN of `entry`.
    func distinguishedName(of entry: Entry) -> DistinguishedName
    /// The entry with this normalised DN, if the directory holds it.
    func entry(normalizedDN: String) -> Entry?
    /// How values of `attribute` compare.
    func syntax(of attribute: String) -> LDAPAttributeSyntax
}

extension LDAPFilterContext {
    public func syntax(of attribute: String) -> LDAPAttributeSyntax { .activeDirectory(attribute) }
}

extension LDAPFilter {
    /// RFC 4511 §4.5.1.7: a filter item evaluates to TRUE, FALSE or Undefined; an entry matches
    /// only when the whole filter is TRUE.
    public enum Truth: Hashable, Sendable {
        case `true`, `false`, undefined

        static func from(_ value: Bool) -> Truth { value ? .true : .false }
    }

    /// Whether `entry` matches, under RFC 4511's three-valued logic.
    public func matches<Context: LDAPFilterContext>(_ entry: Context.Entry, in context: Context) -> Bool {
        self.evaluate(entry, in: context) == .true
    }

    /// Evaluates the filter against `entry`.
    public func evaluate<Context: LDAPFilterContext>(_ entry: Context.Entry, in context: Context) -> Truth {
        switch self {
        case .and(let filters):
            var result = Truth.true
            for filter in filters {
                switch filter.evaluate(entry, in: context) {
                case .false: return .false
                case .undefined: result = .undefined
                case .true: break
                }
            }
            return result
        case .or(let filters):
            var result = Truth.false
            for filter in filters {
                switch filter.evaluate(entry, in: context) {
                case .true: return .true
                case .undefined: result = .undefined
                case .false: break
                }
            }
            return result
        case .not(let filter):
            switch filter.evaluate(entry, in: context) {
            case .true: return .false
            case .false: return .true
            case .undefined: return .undefined
            }
        case .present(let attribute):
            if attribute.caseInsensitiveEquals("objectClass") || attribute.caseInsensitiveEquals("distinguishedName") {
                return .true
            }
            return .from(!context.values(of: attribute, in: entry).isEmpty)
        case .equality(let attribute, let assertion):
            let syntax = context.syntax(of: attribute)
            return .from(context.values(of: attribute, in: entry).contains { ValueMatching.compare($0, assertion, syntax) == 0 })
        case .approximate(let attribute, let assertion):
            let stripped = assertion.filter { $0 != UInt8(ascii: " ") }
            let syntax = context.syntax(of: attribute)
            return .from(context.values(of: attribute, in: entry).contains {
                ValueMatching.compare($0.filter { $0 != UInt8(ascii: " ") }, stripped, syntax) == 0
            })
        case .greaterOrEqual(let attribute, let assertion):
            let syntax = context.syntax(of: attribute)
            return .from(context.values(of: attribute, in: entry).contains { (ValueMatching.compare($0, assertion, syntax) ?? -1) >= 0 })
        case .lessOrEqual(let attribute, let assertion):
            let syntax = context.syntax(of: attribute)
            return .from(context.values(of: attribute, in: entry).contains { (ValueMatching.compare($0, assertion, syntax) ?? 1) <= 0 })
        case .substrings(let attribute, let initial, let any, let final):
            let fold = context.syntax(of: attribute) != .octetString
            return .from(context.values(of: attribute, in: entry).contains {
                ValueMatching.substrings($0, initial: initial, any: any, final: final, fold: fold)
            })
        case .extensible(let rule, let attribute, let assertion, let dnAttributes):
            return Self.evaluateExtensible(rule: rule, attribute: attribute, assertion: assertion, dnAttributes: dnAttributes, entry: entry, context: context)
        }
    }

    private static func evaluateExtensible<Context: LDAPFilterContext>(
        rule: String?, attribute: String?, assertion: [UInt8], dnAttributes: Bool, entry: Context.Entry, context: Context
    ) -> Truth {
        switch rule {
        case LDAPFilter.bitwiseAndRule?, LDAPFilter.bitwiseOrRule?:
            guard let attribute, let mask = ValueMatching.integer(assertion) else { return .undefined }
            let wantAll = rule == LDAPFilter.bitwiseAndRule
            return .from(context.values(of: attribute, in: entry).contains { value in
                guard let number = ValueMatching.integer(value) else { return false }
                return wantAll ? (number & mask) == mask : (number & mask) != 0
            })
        case LDAPFilter.inChainRule?:
            guard let attribute else { return .undefined }
            let target = DistinguishedName.normalize(String(decoding: assertion, as: UTF8.self))
            // Breadth-first over the DN-valued links, remembering visited DNs so cycles end.
            var visited: Set<String> = []
            var frontier = context.values(of: attribute, in: entry).map { DistinguishedName.normalize(String(decoding: $0, as: UTF8.self)) }
            while !frontier.isEmpty {
                var next: [String] = []
                for dn in frontier where visited.insert(dn).inserted {
                    if dn == target { return .true }
                    if let linked = context.entry(normalizedDN: dn) {
                        next += context.values(of: attribute, in: linked).map { DistinguishedName.normalize(String(decoding: $0, as: UTF8.self)) }
                    }
                }
                frontier = next
            }
            return .false
        case nil, "2.5.13.2", "caseIgnoreMatch", "2.5.13.1", "distinguishedNameMatch", "2.5.13.14", "integerMatch",
             "2.5.13.5", "caseExactMatch":
            let exact = rule == "2.5.13.5" || rule == "caseExactMatch"
            var matched = false
            if let attribute {
                let syntax = exact ? LDAPAttributeSyntax.octetString : context.syntax(of: attribute)
                matched = context.values(of: attribute, in: entry).contains { ValueMatching.compare($0, assertion, syntax) == 0 }
            }
            if !matched && dnAttributes {
                let value = String(decoding: assertion, as: UTF8.self)
                matched = context.distinguishedName(of: entry).rdns.joined().contains { pair in
                    (attribute.map { pair.type.caseInsensitiveEquals($0) } ?? true)
                        && (exact ? pair.value == value : pair.value.caseInsensitiveEquals(value))
                }
            }
            return .from(matched)
        default:
            return .undefined
        }
    }
}

enum ValueMatching {
    /// Three-way comparison under `syntax`, or nil when the values are not comparable
    /// (e.g. a non-numeric assertion against an integer attribute).
    static func compare(_ value: [UInt8], _ assertion: [UInt8], _ syntax: LDAPAttributeSyntax) -> Int? {
        switch syntax {
        case .octetString:
            return lexicographic(value, assertion)
        case .caseIgnoreString:
            for (left, right) in zip(value, assertion) {
                let (foldedLeft, foldedRight) = (LDAPCase.fold(left), LDAPCase.fold(right))
                if foldedLeft != foldedRight { return foldedLeft < foldedRight ? -1 : 1 }
            }
            return value.count < assertion.count ? -1 : (value.count == assertion.count ? 0 : 1)
        case .integer:
            guard let lhs = integer(value), let rhs = integer(assertion) else { return nil }
            return lhs < rhs ? -1 : (lhs == rhs ? 0 : 1)
        case .distinguishedName:
            let lhs = DistinguishedName.normalize(String(decoding: value, as: UTF8.self))
            let rhs = DistinguishedName.normalize(String(decoding: assertion, as: UTF8.self))
            return lhs < rhs ? -1 : (lhs == rhs ? 0 : 1)
        }
    }

    static func lexicographic(_ lhs: [UInt8], _ rhs: [UInt8]) -> Int {
        for (left, right) in zip(lhs, rhs) where left != right {
            return left < right ? -1 : 1
        }
        return lhs.count < rhs.count ? -1 : (lhs.count == rhs.count ? 0 : 1)
    }

    static func integer(_ bytes: [UInt8]) -> Int64? {
        Int64(String(decoding: bytes, as: UTF8.self))
    }

    static func substrings(_ value: [UInt8], initial: [UInt8]?, any: [[UInt8]], final: [UInt8]?, fold: Bool) -> Bool {
        let haystack = fold ? value.map(LDAPCase.fold) : value
        var start = 0
        var end = haystack.count
        if let initial {
            let needle = fold ? initial.map(LDAPCase.fold) : initial
            guard haystack.count >= needle.count, haystack[0..<needle.count].elementsEqual(needle) else { return false }
            start = needle.count
        }
        if let final {
            let needle = fold ? final.map(LDAPCase.fold) : final
            guard end - start >= needle.count, haystack[(end - needle.count)..<end].elementsEqual(needle) else { return false }
            end -= needle.count
        }
        for part in any {
            let needle = fold ? part.map(LDAPCase.fold) : part
            guard let found = firstIndex(of: needle, in: haystack, from: start, to: end) else { return false }
            start = found + needle.count
        }
        return true
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int, to end: Int) -> Int? {
        guard !needle.isEmpty else { return start }
        guard end - start >= needle.count else { return nil }
        for index in start...(end - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }
}
