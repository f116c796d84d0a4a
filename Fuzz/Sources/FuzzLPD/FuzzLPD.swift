import FuzzSupport
import NIOCore
import PrintProtocols

/// Feeds arbitrary bytes through the LPD decoder (split at a point chosen by the input),
/// drives the server state machine with whatever decodes, and parses the bytes as a
/// control file. Any crash, hang or sanitizer report is a bug; errors are fine.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let split = size > 0 ? Int(bytes[0]) % (size + 1) : 0
    var decoder = LPDCommandDecoder(limits: .init(maximumLineLength: 256, maximumControlFileBytes: 4096, chunkSize: 97))
    var machine = LPDServerStateMachine(maximumDataFileBytes: 1 << 20)
    var first = ByteBuffer(bytes: bytes[0..<split])
    var second = ByteBuffer(bytes: bytes[split...])
    do {
        while let message = try decoder.next(&first, atEOF: false) { _ = machine.receive(message) }
        second.writeBuffer(&first)
        while let message = try decoder.next(&second, atEOF: false) { _ = machine.receive(message) }
        while let message = try decoder.next(&second, atEOF: true) { _ = machine.receive(message) }
    } catch {
        _ = machine.connectionClosed()
    }
    _ = try? LPDControlFile(parsing: bytes)
    return 0
}

/// SwiftPM links each executable's entry point as `<Module>_main`; hand control to libFuzzer.
@_cdecl("FuzzLPD_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzOneInput)
}
