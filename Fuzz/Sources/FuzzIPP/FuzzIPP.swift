import FuzzSupport
import NIOCore
import PrintProtocols

/// Feeds arbitrary bytes to the IPP decoder (what `printplane import` reads from a print
/// server). A message that decodes must encode again and decode to the same message: the
/// codec neither loses nor invents values.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    guard let message = try? IPPMessage(parsing: bytes) else { return 0 }
    guard let encoded = try? message.encoded() else { return 0 }  // e.g. a value over 64 KiB cannot come back
    let again = try? IPPMessage(parsing: encoded)
    precondition(again == message, "an IPP message changed through encode and decode")
    return 0
}

/// SwiftPM links each executable's entry point as `<Module>_main`; hand control to libFuzzer.
@_cdecl("FuzzIPP_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzOneInput)
}
