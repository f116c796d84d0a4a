/// libFuzzer's entry point (compiler-rt, linked by `-sanitize=fuzzer`): parses the fuzzer's
/// flags and calls `callback` with each input.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Hands a fuzz target's process to libFuzzer.
///
/// Why each target still has its own `@_cdecl("<Module>_main")`: SwiftPM links an
/// executable's entry point under that name, and libFuzzer's `main` does not provide it, so
/// the symbol must be defined in the target itself; everything else lives here.
public func runLibFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
