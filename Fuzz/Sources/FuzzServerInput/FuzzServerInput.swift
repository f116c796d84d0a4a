import FuzzSupport
import Foundation
import PrintplaneCore

/// Feeds arbitrary bytes to everything the server parses from untrusted agents and admins:
/// the agent API bodies, assignment targets, bearer secrets, IP ranges, driver digests, LAN
/// cache URLs and the cache routes' bodies.
/// Any crash, trap or hang is a bug; decoding errors are the expected outcome.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let decoder = WireCoding.makeDecoder()
    _ = try? decoder.decode(EnrollRequest.self, from: bytes).validationProblems
    _ = try? decoder.decode(CheckInRequest.self, from: bytes)
    if let batch = try? decoder.decode(JobBatch.self, from: bytes) {
        for job in batch.jobs { _ = job.validationProblems }
    }
    _ = try? decoder.decode(AssignmentTarget.self, from: bytes)
    _ = try? decoder.decode(SignedDriverManifest.self, from: bytes).manifest.validationProblems
    let text = String(decoding: bytes, as: UTF8.self)
    _ = SecretToken(parsing: text)?.sha256Hex
    if let range = IPRange(text) {
        // A parsed range round-trips through its text form and contains its own network.
        precondition(IPRange(range.description) == range)
        precondition(range.contains(range.network))
    }
    if let url = DriverCacheURL.parse(text) {
        // A LAN cache URL as stored and planned parses back to itself.
        precondition(DriverCacheURL.parse(url.description) == url)
        precondition((1...65535).contains(url.port))
    }
    _ = try? decoder.decode(DriverCacheManifests.self, from: bytes)
    _ = try? decoder.decode(DriverCacheCertificateRequest.self, from: bytes)
    _ = DriverManifest.isSHA256Hex(text)
    _ = DriverManifest.isSafeField(text)
    return 0
}

/// SwiftPM links each executable's entry point as `<Module>_main`; hand control to libFuzzer.
@_cdecl("FuzzServerInput_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzOneInput)
}
