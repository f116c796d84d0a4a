import Testing

@testable import FakePrinter

@Suite("Fake printer configuration")
struct FakePrinterConfigurationTests {
    @Test("N printers get N consecutive addresses")
    func consecutiveAddresses() throws {
        let configuration = FakePrinterConfiguration(host: "127.0.1.254", count: 4, spoolDirectory: "/tmp/x")
        #expect(try configuration.printerAddresses() == ["127.0.1.254", "127.0.1.255", "127.0.2.0", "127.0.2.1"])
    }

    @Test("bad addresses and counts get a clear error", arguments: [
        ("localhost", 1), ("127.0.0", 1), ("127.0.0.256", 1), ("127.0.0.1", 0), ("127.255.255.255", 2), ("1.2.3.04444", 1),
    ])
    func rejected(host: String, count: Int) {
        let configuration = FakePrinterConfiguration(host: host, count: count, spoolDirectory: "/tmp/x")
        #expect(throws: FakePrinterError.self) { try configuration.printerAddresses() }
    }
}
