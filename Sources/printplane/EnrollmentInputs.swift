import ArgumentParser
import Foundation

/// What `agent enroll` and `cache enroll` both read before they call the server: an
/// `https://` URL (everything to the cloud goes over TLS), the CA's PEM, and the token,
/// given as it is or as `@FILE` (so it stays out of the shell history and `ps`).
struct EnrollmentInputs {
    let caPEM: String
    let token: String

    init(server: String, caFile: String, token: String) throws {
        guard server.hasPrefix("https://") else { throw ValidationError("--server must be an https:// URL: everything to the cloud goes over TLS") }
        guard let pem = FileManager.default.contents(atPath: caFile).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw ValidationError("cannot read --ca-file \(caFile)")
        }
        self.caPEM = pem
        if token.hasPrefix("@") {
            let path = String(token.dropFirst())
            guard let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) else {
                throw ValidationError("cannot read the token file \(path)")
            }
            self.token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            self.token = token
        }
    }
}
