import Testing

@testable import PrintplaneCore

@Suite("IP addresses and ranges")
struct IPRangeTests {
    @Test("IPv4 and IPv6 CIDR containment", arguments: [
        ("10.0.0.0/8", "10.255.1.2", true),
        ("10.0.0.0/8", "11.0.0.1", false),
        ("10.1.2.3/16", "10.1.200.1", true),
        ("192.168.1.0/25", "192.168.1.127", true),
        ("192.168.1.0/25", "192.168.1.128", false),
        ("0.0.0.0/0", "8.8.8.8", true),
        ("2001:db8::/32", "2001:db8:abcd::1", true),
        ("2001:db8::/32", "2001:db9::1", false),
        ("::/0", "::1", true),
        ("10.0.0.0/8", "::ffff:10.2.3.4", true),
        ("10.0.0.0/8", "2001:db8::1", false),
        ("2001:db8::1", "2001:db8::1", true),
    ])
    func containment(range: String, address: String, expected: Bool) throws {
        let range = try #require(IPRange(range))
        let address = try #require(IPAddress(address))
        #expect(range.contains(address) == expected)
    }

    @Test("malformed ranges are refused", arguments: ["", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0/8", "2001:db8::/129", "abc/8", "10.0.0.0/8/8", "10.0.0.0/ 8", "1.2.3.4/0x8"])
    func malformed(text: String) {
        #expect(IPRange(text) == nil)
    }

    @Test("host bits are cleared and the text form round-trips")
    func normalises() throws {
        let range = try #require(IPRange("10.1.2.3/16"))
        #expect(range.description == "10.1.0.0/16")
        #expect(IPRange(range.description) == range)
        #expect(IPRange("2001:db8:1:2::9/48")?.description == "2001:db8:1::/48")
    }
}
