import FuzzSupport
import NIOCore
import PrintProtocols

/// Feeds arbitrary bytes to the AppSocket/PJL job splitter whole and in two pieces, and
/// checks that the job bytes it passes through are the same either way (chunking must
/// never change what a printer records). Also parses every line as a PJL command.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    func run(_ pieces: [ArraySlice<UInt8>]) -> (jobs: Int, bytes: [UInt8], commands: Int) {
        var machine = AppSocketStateMachine()
        var actions: [AppSocketStateMachine.Action] = []
        for piece in pieces { machine.consume(ByteBuffer(bytes: piece), into: &actions) }
        machine.finish(into: &actions)
        var jobs = 0
        var jobBytes: [UInt8] = []
        var commands = 0
        for action in actions {
            switch action {
            case .jobStarted: jobs += 1
            case .jobData(let buffer): jobBytes += buffer.readableBytesView
            case .command: commands += 1
            case .jobEnded: break
            }
        }
        return (jobs, jobBytes, commands)
    }
    let whole = run([bytes[...]])
    let split = size > 0 ? Int(bytes[0]) % (size + 1) : 0
    let halves = run([bytes[0..<split], bytes[split...]])
    precondition(whole.jobs == halves.jobs && whole.bytes == halves.bytes && whole.commands == halves.commands,
                 "chunking changed the result")
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n").prefix(64) { _ = PJLCommand(line: String(line)) }
    return 0
}

/// SwiftPM links each executable's entry point as `<Module>_main`; hand control to libFuzzer.
@_cdecl("FuzzPJL_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzOneInput)
}
