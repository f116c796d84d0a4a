import Foundation
import Testing

@testable import Sim

@Suite("SubnetLease: one run per subnet on a machine")
struct SubnetLeaseTests {
    @Test("leases held at once never share an octet, and a released octet can be leased again")
    func leasesAreExclusive() throws {
        let directory = NSTemporaryDirectory() + "printplane-lease-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var held = (0..<250).map { _ in SubnetLease.acquire(directory: directory) }
        #expect(held.allSatisfy { $0.isHeld })
        #expect(Set(held.map(\.octet)).count == 250, "every octet leased once")
        #expect(Set(held.map(\.octet)) == Set(1...250))

        let freed = held.removeLast().octet
        let again = SubnetLease.acquire(directory: directory)
        #expect(again.isHeld)
        #expect(again.octet == freed, "the only free octet is the one just released")

        let overflow = SubnetLease.acquire(directory: directory)
        #expect(!overflow.isHeld, "all 250 taken: an unclaimed fallback, never a crash")
        #expect((1...250).contains(overflow.octet))
    }
}
