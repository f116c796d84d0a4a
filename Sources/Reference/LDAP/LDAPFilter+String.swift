/// RFC 4515 string representation of search filters.
///
/// ```
/// filter         = LPAREN filtercomp RPAREN
/// filtercomp     = and / or / not / item
/// and            = AMPERSAND filterlist
/// or             = VERTBAR filterlist
/// not            = EXCLAMATION filter
/// filterlist     = 1*filter
/// item           = simple / present / substring / extensible
/// simple         = attr filtertype assertionvalue
/// filtertype     = equal / approx / greaterorequal / lessorequal
/// extensible     = ( attr [dnattrs] [matchingrule] COLON EQUALS assertionvalue )
///                  / ( [dnattrs] matchingrule COLON EQUALS assertionvalue )
/// present        = attr EQUALS ASTERISK
/// substring      = attr EQUALS [initial] any [final]
/// assertionvalue = valueencoding   ; escapes are ESC HEX HEX
/// ```
/// Empty `(&)` and `(|)` (RFC 4526) are accepted, as OpenLDAP's tools do.
extension LDAPFilter {
    /// Parses an RFC 4515 filter; the surrounding parentheses may be left out, as ldapsearch allows.
    public init(parsing string: String, maximumDepth: Int = 32) throws {
        var parser = FilterParser(bytes: Array(string.utf8), maximumDepth: maximumDepth)
        let trimmed = parser.bytes.first == UInt8(ascii: "(")
        if !trimmed {
            parser.bytes = Array("(\(string))".utf8)
        }
        self = try parser.parseFilter(depth: 0)
        guard parser.index == parser.bytes.count else {
            throw LDAPCodecError.invalidFilter("unexpected text after the filter at offset \(parser.index)")
        }
    }

    /// The RFC 4515 string form, with `*`, `(`, `)`, `\`, NUL and non-ASCII bytes escaped.
    public var description: String {
        switch self {
        case .and(let filters): return "(&" + filters.map(\.description).joined() + ")"
        case .or(let filters): return "(|" + filters.map(\.description).joined() + ")"
        case .not(let filter): return "(!" + filter.description + ")"
        case .equality(let attribute, let value): return "(\(attribute)=\(Self.escape(value)))"
        case .greaterOrEqual(let attribute, let value): return "(\(attribute)>=\(Self.escape(value)))"
        case .lessOrEqual(let attribute, let value): return "(\(attribute)<=\(Self.escape(value)))"
        case .approximate(let attribute, let value): return "(\(attribute)~=\(Self.escape(value)))"
        case .present(let attribute): return "(\(attribute)=*)"
        case .substrings(let attribute, let initial, let any, let final):
            var text = "(\(attribute)="
            if let initial { text += Self.escape(initial) }
            text += "*"
            for part in any { text += Self.escape(part) + "*" }
            if let final { text += Self.escape(final) }
            return text + ")"
        case .extensible(let rule, let attribute, let value, let dnAttributes):
            var text = "(" + (attribute ?? "")
            if dnAttributes { text += ":dn" }
            if let rule { text += ":" + rule }
            return text + ":=" + Self.escape(value) + ")"
        }
    }

    /// Escapes an assertion value as RFC 4515 §3 requires (and non-ASCII bytes, which keeps
    /// binary values such as objectSid printable).
    public static func escape<Bytes: Sequence>(_ value: Bytes) -> String where Bytes.Element == UInt8 {
        var text = ""
        for byte in value {
            switch byte {
            case UInt8(ascii: "*"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"), 0, 0x80...:
                text += "\\" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            default:
                text.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return text
    }
}

extension LDAPFilter: CustomStringConvertible {}

private struct FilterParser {
    var bytes: [UInt8]
    var index = 0
    let maximumDepth: Int

    init(bytes: [UInt8], maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    func fail(_ reason: String) -> LDAPCodecError {
        LDAPCodecError.invalidFilter("\(reason) at offset \(self.index)")
    }

    mutating func expect(_ character: Character) throws {
        guard self.index < self.bytes.count, self.bytes[self.index] == character.asciiValue! else {
            throw self.fail("expected '\(character)'")
        }
        self.index += 1
    }

    var current: UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }

    mutating func parseFilter(depth: Int) throws -> LDAPFilter {
        guard depth < self.maximumDepth else { throw self.fail("filter nests deeper than \(self.maximumDepth)") }
        try self.expect("(")
        let filter: LDAPFilter
        switch self.current {
        case UInt8(ascii: "&"):
            self.index += 1
            filter = .and(try self.parseList(depth: depth))
        case UInt8(ascii: "|"):
            self.index += 1
            filter = .or(try self.parseList(depth: depth))
        case UInt8(ascii: "!"):
            self.index += 1
            filter = .not(try self.parseFilter(depth: depth + 1))
        default:
            filter = try self.parseItem()
        }
        try self.expect(")")
        return filter
    }

    mutating func parseList(depth: Int) throws -> [LDAPFilter] {
        var filters: [LDAPFilter] = []
        while self.current == UInt8(ascii: "(") {
            filters.append(try self.parseFilter(depth: depth + 1))
        }
        return filters
    }

    /// attr = attributedescription: a descriptor or numeric OID, with options (`;binary`).
    mutating func parseAttributeDescription() -> String {
        let start = self.index
        while let byte = self.current,
              (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ";")
        {
            self.index += 1
        }
        return String(decoding: self.bytes[start..<self.index], as: UTF8.self)
    }

    mutating func parseItem() throws -> LDAPFilter {
        let attribute = self.parseAttributeDescription()
        if self.current == UInt8(ascii: ":") {
            return try self.parseExtensible(attribute: attribute.isEmpty ? nil : attribute)
        }
        guard !attribute.isEmpty else { throw self.fail("expected an attribute description") }
        guard let operatorByte = self.current else { throw self.fail("unexpected end of filter") }
        switch operatorByte {
        case UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "<"):
            self.index += 1
            try self.expect("=")
            let value = try self.parseValue(allowStar: false)
            switch operatorByte {
            case UInt8(ascii: "~"): return .approximate(attribute: attribute, value: value)
            case UInt8(ascii: ">"): return .greaterOrEqual(attribute: attribute, value: value)
            default: return .lessOrEqual(attribute: attribute, value: value)
            }
        case UInt8(ascii: "="):
            self.index += 1
            var parts: [[UInt8]] = [try self.parseValue(allowStar: true)]
            while self.current == UInt8(ascii: "*") {
                self.index += 1
                parts.append(try self.parseValue(allowStar: true))
            }
            if parts.count == 1 { return .equality(attribute: attribute, value: parts[0]) }
            if parts.count == 2 && parts[0].isEmpty && parts[1].isEmpty { return .present(attribute: attribute) }
            let initial = parts.first!.isEmpty ? nil : parts.first!
            let final = parts.last!.isEmpty ? nil : parts.last!
            let middle = parts.dropFirst().dropLast()
            guard middle.allSatisfy({ !$0.isEmpty }) else { throw self.fail("empty substring between '*'s") }
            return .substrings(attribute: attribute, initial: initial, any: Array(middle), final: final)
        default:
            throw self.fail("expected a filter type after '\(attribute)'")
        }
    }

    mutating func parseExtensible(attribute: String?) throws -> LDAPFilter {
        var dnAttributes = false
        var rule: String?
        while self.current == UInt8(ascii: ":") {
            self.index += 1
            if self.current == UInt8(ascii: "=") {
                self.index += 1
                guard rule != nil || attribute != nil else { throw self.fail("extensible match needs an attribute or a rule") }
                let value = try self.parseValue(allowStar: false)
                return .extensible(matchingRule: rule, attribute: attribute, value: value, dnAttributes: dnAttributes)
            }
            let word = self.parseAttributeDescription()
            if word.caseInsensitiveEquals("dn"), rule == nil, !dnAttributes {
                dnAttributes = true
            } else if !word.isEmpty, rule == nil {
                rule = word
            } else {
                throw self.fail("malformed extensible match")
            }
        }
        throw self.fail("extensible match needs ':='")
    }

    /// valueencoding: any byte but NUL, `(`, `)`, `*`, `\`; escapes are `\` and two hex digits.
    mutating func parseValue(allowStar: Bool) throws -> [UInt8] {
        var value: [UInt8] = []
        while let byte = self.current {
            switch byte {
            case UInt8(ascii: ")"):
                return value
            case UInt8(ascii: "*"):
                if allowStar { return value }
                throw self.fail("unescaped '*' in a value")
            case UInt8(ascii: "("), 0:
                throw self.fail("unescaped '(' or NUL in a value")
            case UInt8(ascii: "\\"):
                guard self.index + 2 < self.bytes.count,
                      let high = Self.hex(self.bytes[self.index + 1]), let low = Self.hex(self.bytes[self.index + 2])
                else { throw self.fail("'\\' must be followed by two hex digits") }
                value.append(high << 4 | low)
                self.index += 3
            default:
                value.append(byte)
                self.index += 1
            }
        }
        return value
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
