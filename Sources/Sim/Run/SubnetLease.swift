import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A machine-wide claim on one run's third octet N, for the 127.10.N.1 (server),
/// 127.20.N.x (printers) and 127.30.N.1 (AD) addresses.
///
/// Why a lease and not a random draw: two runs on one machine (a CI job running scenarios
/// side by side, a user's run beside the test suite) that drew the same N fought over
/// 127.20.N.1:9100, and one failed to start. The claim is an `flock` on a file per N in
/// the temporary directory. The kernel drops it when the process ends, however it ends,
/// so a crashed run never strands an N.
final class SubnetLease: Sendable {
    /// The third octet, 1…250.
    let octet: UInt8
    private let descriptor: Int32

    private init(octet: UInt8, descriptor: Int32) {
        self.octet = octet
        self.descriptor = descriptor
    }

    /// Claims a free N, starting at a random one. If every N is taken or the lock files
    /// cannot be created, falls back to an unclaimed random N, as before leases existed.
    static func acquire(directory: String = NSTemporaryDirectory()) -> SubnetLease {
        let start = Int.random(in: 0..<250)
        for offset in 0..<250 {
            let octet = UInt8(1 + (start + offset) % 250)
            let path = (directory as NSString).appendingPathComponent("printplane-sim-subnet-\(octet).lock")
            let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
            guard descriptor >= 0 else { continue }
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
                return SubnetLease(octet: octet, descriptor: descriptor)
            }
            close(descriptor)
        }
        return SubnetLease(octet: UInt8.random(in: 1...250), descriptor: -1)
    }

    /// Whether the claim is held (false only in the fallback).
    var isHeld: Bool { self.descriptor >= 0 }

    deinit {
        if self.descriptor >= 0 { close(self.descriptor) }
    }
}
