import LDAP
import Testing

@Suite struct LDAPFilterStringTests {
    @Test(arguments: [
        "(cn=Babs Jensen)",
        "(!(cn=Tim Howes))",
        "(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))",
        "(o=univ*of*mich*)",
        "(seeAlso=)",
        "(cn:caseExactMatch:=Fred Flintstone)",
        "(cn:=Betty Rubble)",
        "(sn:dn:2.4.6.8.10:=Barney Rubble)",
        "(o:dn:=Ace Industry)",
        "(:1.2.3:=Wilma Flintstone)",
        "(:dn:2.4.6.8.10:=Dino)",
        "(o=Parens R Us \\28for all your parenthetical needs\\29)",
        "(cn=*\\2a*)",
        "(filename=C:\\5cMyFile)",
        "(bin=\\00\\00\\00\\04)",
        "(sn=Lu\\c4\\8di\\c4\\87)",
        "(1.3.6.1.4.1.1466.0=\\04\\02\\48\\69)",
        "(memberOf:1.2.840.113556.1.4.1941:=CN=All Staff,OU=Groups,DC=corp,DC=example,DC=com)",
        "(userAccountControl:1.2.840.113556.1.4.803:=2)",
        "(&)",
        "(|)",
        "(a>=5)",
        "(a<=5)",
        "(a~=smith)",
        "(a=*)",
        "(a=x*)",
        "(a=*x)",
    ])
    func rfc4515ExamplesRoundTrip(text: String) throws {
        let filter = try LDAPFilter(parsing: text)
        #expect(try LDAPFilter(parsing: filter.description) == filter)
    }

    @Test func escapesDecodeToBytes() throws {
        #expect(try LDAPFilter(parsing: "(bin=\\00\\00\\00\\04)") == .equality(attribute: "bin", value: [0, 0, 0, 4]))
        #expect(try LDAPFilter(parsing: "(cn=*\\2a*)") == .substrings(attribute: "cn", initial: nil, any: [[0x2A]], final: nil))
        #expect(try LDAPFilter(parsing: "(o=univ*of*mich*)") == .substrings(attribute: "o", initial: Array("univ".utf8), any: [Array("of".utf8), Array("mich".utf8)], final: nil))
        #expect(LDAPFilter.equality(attribute: "cn", value: Array("a*(b)\\".utf8)).description == "(cn=a\\2a\\28b\\29\\5c)")
    }

    @Test func parenthesesAreOptionalAroundASimpleFilter() throws {
        #expect(try LDAPFilter(parsing: "cn=x") == .equality(attribute: "cn", value: [0x78]))
    }

    @Test(arguments: [
        "(cn=x", "cn=x)", "(=x)", "(cn=a\\g1)", "(cn=a(b)", "(cn>x)", "((cn=x))", "(cn=x)(sn=y)", "(:=x)",
        "(cn=a**b)", "(cn:1.2:3.4:=x)", "",
    ])
    func malformedFiltersAreRejected(text: String) {
        #expect(throws: LDAPCodecError.invalidFilter("")) { try LDAPFilter(parsing: text) }
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "(!", count: 100) + "(cn=x)" + String(repeating: ")", count: 100)
        #expect(throws: LDAPCodecError.invalidFilter("")) { try LDAPFilter(parsing: deep) }
    }
}

@Suite struct LDAPFilterEvaluationTests {
    static func entry(_ dn: String, _ attributes: [String: [String]]) -> SearchResultEntry {
        SearchResultEntry(objectName: dn, attributes: attributes.sorted { $0.key < $1.key }.map { LDAPAttribute(type: $0.key, strings: $0.value) })
    }

    static let alice = entry("CN=Alice,OU=People,DC=x", [
        "objectClass": ["top", "user"], "cn": ["Alice"], "sAMAccountName": ["alice"], "userAccountControl": ["514"],
        "memberOf": ["CN=Team A,OU=Groups,DC=x"], "mail": ["alice@x.example"],
    ])
    static let teamA = entry("CN=Team A,OU=Groups,DC=x", ["objectClass": ["group"], "cn": ["Team A"], "memberOf": ["cn=engineering,ou=groups,dc=x"], "member": ["CN=Alice,OU=People,DC=x"], "groupType": ["-2147483646"]])
    static let engineering = entry("CN=Engineering,OU=Groups,DC=x", ["objectClass": ["group"], "cn": ["Engineering"], "memberOf": ["CN=Everyone,OU=Groups,DC=x"], "member": ["CN=Team A,OU=Groups,DC=x"]])
    // Everyone and Loop are members of each other: the chain walk must terminate.
    static let everyone = entry("CN=Everyone,OU=Groups,DC=x", ["objectClass": ["group"], "cn": ["Everyone"], "memberOf": ["CN=Loop,OU=Groups,DC=x"]])
    static let loop = entry("CN=Loop,OU=Groups,DC=x", ["objectClass": ["group"], "cn": ["Loop"], "memberOf": ["CN=Everyone,OU=Groups,DC=x"]])
    static let bob = entry("CN=Bob,OU=People,DC=x", ["objectClass": ["user"], "cn": ["Bob"], "userAccountControl": ["512"], "memberOf": ["CN=Other,OU=Groups,DC=x"]])
    static let context = EntryListContext(entries: [alice, teamA, engineering, everyone, loop, bob])

    func matching(_ text: String) throws -> [String] {
        let filter = try LDAPFilter(parsing: text)
        return Self.context.entries.filter { filter.matches($0, in: Self.context) }.map { $0.strings(of: "cn")[0] }
    }

    @Test func equalityAndAttributeNamesIgnoreCase() throws {
        #expect(try self.matching("(SAMACCOUNTNAME=ALICE)") == ["Alice"])
        #expect(try self.matching("(memberof=cn=TEAM A, ou=Groups, dc=X)") == ["Alice"])
    }

    @Test func substringsPresenceAndOrdering() throws {
        #expect(try self.matching("(cn=*e*)") == ["Alice", "Team A", "Engineering", "Everyone"])
        #expect(try self.matching("(cn=e*g)") == ["Engineering"])
        #expect(try self.matching("(mail=*)") == ["Alice"])
        #expect(try self.matching("(userAccountControl>=513)") == ["Alice"])
        #expect(try self.matching("(userAccountControl<=512)") == ["Bob"])
        #expect(try self.matching("(cn~=team a)") == ["Team A"])
    }

    @Test func booleanCombinations() throws {
        #expect(try self.matching("(&(objectClass=user)(!(cn=Alice)))") == ["Bob"])
        #expect(try self.matching("(|(cn=Bob)(cn=Loop))") == ["Loop", "Bob"])
        #expect(try self.matching("(&)").count == 6)
        #expect(try self.matching("(|)").isEmpty)
    }

    @Test func bitwiseRules() throws {
        #expect(try self.matching("(userAccountControl:1.2.840.113556.1.4.803:=2)") == ["Alice"])
        #expect(try self.matching("(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))") == ["Bob"])
        #expect(try self.matching("(userAccountControl:1.2.840.113556.1.4.804:=3)") == ["Alice"])
        // AD's 32-bit groupType: the unsigned and the signed spelling of the same bits both match.
        #expect(try self.matching("(groupType:1.2.840.113556.1.4.803:=2147483650)") == ["Team A"])
        #expect(try self.matching("(groupType:1.2.840.113556.1.4.803:=4)").isEmpty)
        #expect(try self.matching("(groupType:1.2.840.113556.1.4.803:=-2147483646)") == ["Team A"])
    }

    @Test func inChainFollowsNestingAndSurvivesCycles() throws {
        #expect(try self.matching("(memberOf:1.2.840.113556.1.4.1941:=CN=Everyone,OU=Groups,DC=x)") == ["Alice", "Team A", "Engineering", "Everyone", "Loop"])
        #expect(try self.matching("(memberOf:1.2.840.113556.1.4.1941:=CN=Engineering,OU=Groups,DC=x)") == ["Alice", "Team A"])
        #expect(try self.matching("(member:1.2.840.113556.1.4.1941:=CN=Alice,OU=People,DC=x)") == ["Team A", "Engineering"])
    }

    @Test func unknownMatchingRuleIsUndefinedAndNotDoesNotFlipIt() throws {
        let filter = try LDAPFilter(parsing: "(cn:9.9.9:=x)")
        #expect(filter.evaluate(Self.alice, in: Self.context) == .undefined)
        #expect(LDAPFilter.not(filter).evaluate(Self.alice, in: Self.context) == .undefined)
    }

    @Test func dnAttributesMatchesRDNValues() throws {
        #expect(try self.matching("(ou:dn:=people)") == ["Alice", "Bob"])
    }
}
