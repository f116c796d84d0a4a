import Testing

@testable import PrintplaneCore

@Suite("Secret tokens")
struct SecretTokenTests {
    @Test("generated tokens parse back, carry 256 bits, and hash stably", arguments: SecretToken.Kind.allCases)
    func roundTrip(kind: SecretToken.Kind) throws {
        let token = SecretToken.generate(kind)
        #expect(token.value.hasPrefix(kind.rawValue + "_"))
        let parsed = try #require(SecretToken(parsing: token.value))
        #expect(parsed == token)
        #expect(Base64URL.decode(String(token.value.dropFirst(4)))?.count == 32)
        #expect(token.sha256Hex.count == 64)
        #expect(token.sha256Hex == SecretToken(parsing: token.value)?.sha256Hex)
        #expect(SecretToken.generate(kind) != token)
        #expect(!token.description.contains(token.value.dropFirst(4)))
    }

    @Test("malformed tokens are refused", arguments: ["", "ppe_", "ppx_" + String(repeating: "A", count: 43), "ppe_" + String(repeating: "A", count: 42), "ppe_" + String(repeating: "A", count: 42) + "/", "ppe-" + String(repeating: "A", count: 43)])
    func malformed(text: String) {
        #expect(SecretToken(parsing: text) == nil)
    }

    @Test("constant-time comparison is a correct equality")
    func constantTime() {
        #expect(SecretToken.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!SecretToken.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!SecretToken.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(SecretToken.constantTimeEquals([UInt8](), [UInt8]()))
    }
}
