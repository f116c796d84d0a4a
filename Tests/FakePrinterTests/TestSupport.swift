import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

@testable import FakePrinter
@testable import PrintProtocols

/// A fresh temporary directory, removed when the test is done.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("printplane-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Runs fake printers on 127.0.0.x with free ports for the duration of `body`, then
/// shuts them down gracefully (which itself is under test: it must not hang).
func withFakePrinter<T: Sendable>(
    host: String = "127.0.0.1",
    count: Int = 1,
    spool: String? = nil,
    configure: (inout FakePrinterConfiguration) -> Void = { _ in },
    _ body: @Sendable (FakePrinterService, FakePrinterService.Endpoints) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { temporary in
        var configuration = FakePrinterConfiguration(
            host: host, count: count, rawPort: 0, lpdPort: 0, httpPort: 0, spoolDirectory: spool ?? temporary)
        configure(&configuration)
        var logger = Logger(label: "printplane.printer.test")
        logger.logLevel = ProcessInfo.processInfo.environment["PRINTPLANE_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
        let service = try FakePrinterService(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask { try await group.run(); return nil }
            let endpoints = try await service.endpoints()
            let result: T
            do {
                result = try await body(service, endpoints)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }
}

/// Waits until `condition` holds, polling; fails the test after `timeout`.
func eventually(timeout: Duration = .seconds(30), _ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting for \(what)")
    throw CancellationError()
}

/// A DSC-conforming PostScript document with `pages` pages.
func postScript(pages: Int) -> ByteBuffer {
    var text = "%!PS-Adobe-3.0\n%%Pages: \(pages)\n%%EndComments\n"
    for page in 1...pages {
        text += "%%Page: \(page) \(page)\n/Helvetica findfont 24 scalefont setfont 72 720 moveto (Page \(page)) show showpage\n"
    }
    text += "%%EOF\n"
    return ByteBuffer(string: text)
}

/// One RAW stream of PJL-wrapped PostScript jobs (`@PJL JOB` … `EOJ`, UEL-delimited).
func pjlJobs(_ jobs: [(name: String, pages: Int)]) -> ByteBuffer {
    var stream = ByteBuffer()
    for (name, pages) in jobs {
        stream.writeBytes(PJL.universalExitLanguage)
        stream.writeString("@PJL JOB NAME=\"\(name)\"\r\n@PJL ENTER LANGUAGE=POSTSCRIPT\r\n")
        var document = postScript(pages: pages)
        stream.writeBuffer(&document)
        stream.writeBytes(PJL.universalExitLanguage)
        stream.writeString("@PJL EOJ\r\n")
    }
    stream.writeBytes(PJL.universalExitLanguage)
    return stream
}

/// Splits PJL replies on the form feeds that end them.
func pjlReplies(_ buffer: ByteBuffer) -> [String] {
    String(buffer: buffer).split(separator: "\u{0C}").map { String($0) }
}

/// A plain HTTP/1.1 request against the status endpoint (no keep-alive), returning status and body.
func http(_ method: String, _ port: Int, _ path: String, json: String? = nil, contentType: String = "application/json") async throws -> (status: Int, body: String) {
    var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if let json { request += "Content-Type: \(contentType)\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)" } else { request += "\r\n" }
    let reply = try await PrintClient.sendRaw(host: "127.0.0.1", port: port, document: ByteBuffer(string: request), timeout: .seconds(10))
    let text = String(buffer: reply)
    let statusLine = text.split(separator: "\r\n").first ?? ""
    let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
    let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    return (status, body)
}

func decode<T: Decodable>(_ type: T.Type, _ body: String) throws -> T {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return try decoder.decode(type, from: Data(body.utf8))
}
