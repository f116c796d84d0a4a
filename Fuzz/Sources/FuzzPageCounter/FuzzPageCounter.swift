import FuzzSupport
import PrintProtocols

/// libFuzzer entry point for the page counter.
///
/// Counts the input whole, then again split into three chunks at points taken
/// from the input itself (so the fuzzer steers the splits), and for small
/// inputs in 7-byte chunks. The counter must never crash or hang, and every
/// chunking must give the whole-buffer answer: a mismatch traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let whole = PageCounter.count(bytes)

    // Split points from the first and last bytes, spread over the input.
    let first = size > 0 ? Int(bytes[0]) * size / 256 : 0
    let second = size > 0 ? first + Int(bytes[size - 1]) * (size - first) / 256 : 0
    var split = PageCounter()
    split.consume(UnsafeRawBufferPointer(rebasing: bytes[0..<first]))
    split.consume(UnsafeRawBufferPointer(rebasing: bytes[first..<second]))
    split.consume(UnsafeRawBufferPointer(rebasing: bytes[second..<size]))
    let splitCount = split.finish()
    if splitCount != whole {
        fatalError("three-way split at \(first), \(second) gave \(splitCount), whole gave \(whole)")
    }

    if size <= 64 * 1024 {
        var small = PageCounter()
        var offset = 0
        while offset < size {
            let end = min(offset + 7, size)
            small.consume(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
            offset = end
        }
        let smallCount = small.finish()
        if smallCount != whole {
            fatalError("7-byte chunks gave \(smallCount), whole gave \(whole)")
        }
    }
    return 0
}

/// SwiftPM links each executable's entry point as `<Module>_main`; hand control to libFuzzer.
@_cdecl("FuzzPageCounter_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzOneInput)
}
