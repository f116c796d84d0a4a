import FuzzSupport
import LDAP

/// libFuzzer entry point for the LDAP codec: arbitrary bytes go through the same framing and
/// BER parsing a server applies to a client's stream (with the server's limits), then through
/// the RFC 4515 filter parser. Any decoded message must re-encode and decode to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var remaining = bytes[...]
    // Decode back-to-back messages until the input runs out or an error occurs.
    while !remaining.isEmpty {
        guard let decoded = try? LDAPMessage.decode(from: remaining, limits: .server) else { break }
        let (message, length) = decoded
        if let encoded = try? message.berEncoded() {
            let again = try? LDAPMessage(berEncoded: encoded, limits: .server)
            precondition(again == message, "re-encoding changed the message")
        }
        remaining = remaining.dropFirst(length)
    }
    if let text = String(validating: bytes, as: UTF8.self), let filter = try? LDAPFilter(parsing: text) {
        precondition((try? LDAPFilter(parsing: filter.description)) == filter, "printing changed the filter")
    }
    return 0
}

/// SwiftPM links each executable's entry point as `<Module>_main`; hand control to libFuzzer.
@_cdecl("FuzzLDAP_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzOneInput)
}
