import Foundation
import PropertyBased
import Testing

@testable import PrintplaneCore

@Suite("Distinguished names")
struct DistinguishedNameTests {
    @Test func normalisationIgnoresCaseSpacesAndEscapes() throws {
        let a = try DistinguishedName("CN=Smith\\, John, OU=Sales ,DC=Corp")
        let b = try DistinguishedName("cn=smith\\2C john,ou=sales,dc=corp")
        #expect(a == b)
        #expect(a.normalized == "cn=smith\\, john,ou=sales,dc=corp")
        #expect(a.parent == (try DistinguishedName("OU=Sales,DC=Corp")))
        #expect(a.isDescendant(of: try DistinguishedName("dc=CORP")))
        #expect(!(try DistinguishedName("DC=Corp")).isDescendant(of: a))
        #expect(DistinguishedName.normalize("CN=A,DC=B") == "cn=a,dc=b")
        #expect(DistinguishedName.normalize("CN=A+UID=1,DC=B") == (try DistinguishedName("cn=a+uid=1,dc=b")).normalized)
    }

    @Test func malformedDNsAreErrorsWithAMessage() {
        #expect(throws: DistinguishedNameError.self) { try DistinguishedName("no equals sign") }
        #expect(throws: DistinguishedNameError.self) { try DistinguishedName("CN=trailing\\") }
        #expect(throws: DistinguishedNameError.self) { try DistinguishedName("=value,DC=corp") }
        do {
            _ = try DistinguishedName("CN=ok,garbage")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("no '='"))
        }
    }

    @Test func tidiedKeepsCaseAndDropsOptionalSpaces() throws {
        let dn = try DistinguishedName(" CN = Smith\\2C John , OU=Sales,DC=Corp ")
        #expect(dn.tidied.description == "CN=Smith\\, John,OU=Sales,DC=Corp")
        #expect(dn.tidied == dn)
    }

    @Test func ancestorsRunFromTheParentToTheTop() throws {
        let dn = try DistinguishedName("CN=alice,OU=Sales,OU=London,DC=corp,DC=com")
        #expect(dn.ancestors.map(\.description) == ["OU=Sales,OU=London,DC=corp,DC=com", "OU=London,DC=corp,DC=com", "DC=corp,DC=com", "DC=com"])
        #expect(try DistinguishedName("DC=com").ancestors.isEmpty)
        #expect(DistinguishedName.root.ancestors.isEmpty)
    }

    @Test(arguments: [
        ("CN=Printing,OU=Groups,DC=corp", nil),
        ("2.5.4.3=Printing,DC=corp", nil),
        ("", "empty"),
        ("C N=x,DC=corp", "attribute type"),
        ("CN=,DC=corp", "no value"),
        ("1.2.=x", "attribute type"),
    ] as [(String, String?)])
    func validation(text: String, problem: String?) throws {
        let dn = try DistinguishedName(text)
        if let problem {
            #expect(dn.validationProblem?.contains(problem) == true, "\(dn.validationProblem ?? "nil")")
        } else {
            #expect(dn.validationProblem == nil)
        }
    }

    @Test func codableAsItsString() throws {
        let dn = try DistinguishedName("CN=A\\,B,DC=corp")
        let data = try JSONEncoder().encode([dn])
        #expect(String(decoding: data, as: UTF8.self) == #"["CN=A\\,B,DC=corp"]"#)
        #expect(try JSONDecoder().decode([DistinguishedName].self, from: data) == [dn])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([DistinguishedName].self, from: Data(#"["nonsense"]"#.utf8)) }
    }

    @Test("escaping a value and parsing it back gives the value, whatever it holds")
    func escapeRoundTrips() async {
        let alphabet = Array("ab ,+\"\\<>;=#\u{0}é*()").map(String.init)
        let valueGen = Gen.int(in: 0...(alphabet.count - 1)).array(of: 1...12).map { $0.map { alphabet[$0] }.joined() }
        await propertyCheck(count: 300, input: valueGen) { value in
            let dn = try? DistinguishedName("CN=\(DistinguishedName.escapeValue(value)),DC=corp")
            #expect(dn?.rdns.first?.first?.value == value, "\(value.debugDescription)")
            #expect(dn?.tidied == dn)
        }
    }
}
