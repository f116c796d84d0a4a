import ArgumentParser
import FakePrinter
import Logging
import ServiceLifecycle

/// `printplane printer`: maps flags onto `FakePrinterConfiguration` and runs the service.
struct PrinterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "printer",
        abstract: "Run one or many fake network printers (RAW 9100 + LPD 515 + HTTP/JSON status).",
        discussion: """
            Each printer accepts jobs over AppSocket/RAW and RFC 1179 LPD exactly as a real
            network printer does, answers PJL status queries (INFO ID/STATUS/PAGECOUNT, ECHO,
            USTATUS JOB/PAGE), counts pages (PostScript, PDF, PCL, PJL-wrapped), and keeps
            every job's bytes and metadata under --spool, with a life page counter that
            survives restarts. Point your print server, CUPS queue or agent at it.

            With --count N, printer i listens on the --listen address plus i (127.0.0.1,
            127.0.0.2, …), all on the same ports. The HTTP endpoint on the first address lists
            jobs and counters and switches faults at run time:

              curl http://127.0.0.1:9180/printers
              curl http://127.0.0.1:9180/printers/127.0.0.1/jobs
              curl -X PUT -H 'Content-Type: application/json' \\
                   -d '{"paper_out": true}' http://127.0.0.1:9180/printers/0/faults
              curl -X DELETE http://127.0.0.1:9180/faults

            Faults: offline (connections refused), slow (--fault-bytes-per-second), drop after
            N bytes, paper out (jobs held, PJL 41101), jam (jobs refused, PJL 40022), busy (one
            job at a time). Ports below 1024 need root; tests use high ports.

            Examples:
              printplane printer --spool /tmp/spool --raw-port 9100 --lpd-port 5515
              printplane printer --spool /tmp/spool --count 200 --raw-port 19100 --lpd-port 10515
              DEVICE_URI=socket://127.0.0.1:9100 /usr/lib/cups/backend/socket 1 alice report 1 '' file.ps
            """
    )

    @Option(help: "Address of the first printer (an IPv4 address; printers count up from it).")
    var listen = "127.0.0.1"

    @Option(help: "AppSocket/RAW port on every printer address (0 picks a free port).")
    var rawPort = 9100

    @Option(help: "LPD port on every printer address (515 needs root; 0 picks a free port).")
    var lpdPort = 515

    @Option(help: "HTTP/JSON status port on the first address.")
    var httpPort = 9180

    @Flag(help: "Do not serve the HTTP/JSON status endpoint.")
    var noHttp = false

    @Option(help: "Directory for jobs, their bytes and the life page counters (created if missing).")
    var spool: String

    @Option(help: "How many printers to run, on consecutive addresses.")
    var count = 1

    @Option(help: "What `@PJL INFO ID` answers.")
    var model = "Printplane FakePrinter"

    @Flag(help: "Keep only job metadata, not document bytes (for long load runs).")
    var noKeepBytes = false

    @Option(help: "Close a connection that sends nothing for this many seconds.")
    var idleTimeout = 300

    @Flag(help: "Start offline: connections are refused until the fault is cleared over HTTP.")
    var faultOffline = false

    @Option(help: "Start slow: read at most this many bytes per second per connection.")
    var faultBytesPerSecond: Int?

    @Option(help: "Start dropping: reset each connection after this many bytes.")
    var faultDropAfterBytes: Int?

    @Flag(help: "Start with paper out: jobs are received and held until the fault clears.")
    var faultPaperOut = false

    @Flag(help: "Start jammed: jobs are refused.")
    var faultJam = false

    @Flag(help: "Start busy: one job at a time; other connections wait.")
    var faultBusy = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        if let rate = faultBytesPerSecond, rate <= 0 { throw ValidationError("--fault-bytes-per-second must be positive") }
        if let drop = faultDropAfterBytes, drop < 0 { throw ValidationError("--fault-drop-after-bytes must be zero or more") }
        for (name, port) in [("--raw-port", rawPort), ("--lpd-port", lpdPort), ("--http-port", httpPort)] where !(0...65535).contains(port) {
            throw ValidationError("\(name) must be between 0 and 65535")
        }
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive") }
    }

    func run() async throws {
        let configuration = FakePrinterConfiguration(
            host: listen, count: count, rawPort: rawPort, lpdPort: lpdPort, httpPort: noHttp ? nil : httpPort,
            spoolDirectory: spool, model: model,
            initialFaults: PrinterFaults(
                offline: faultOffline, bytesPerSecond: faultBytesPerSecond, dropAfterBytes: faultDropAfterBytes,
                paperOut: faultPaperOut, jam: faultJam, busy: faultBusy),
            idleTimeout: .seconds(idleTimeout), keepDocumentBytes: !noKeepBytes)
        let logger = makeLogger(label: "printplane.printer", level: logLevel)
        let service: FakePrinterService
        do {
            service = try FakePrinterService(configuration: configuration, logger: logger)
        } catch {
            throw ValidationError(error.description)
        }
        let group = ServiceGroup(configuration: .init(
            services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                let endpoints = try await service.endpoints()
                let first = endpoints.printers[0]
                let last = endpoints.printers[endpoints.printers.count - 1]
                let range = endpoints.printers.count == 1 ? first.address : "\(first.address)…\(last.address)"
                let status = endpoints.httpPort.map { ", status http://\(first.address):\($0)/printers" } ?? ""
                logger.notice(
                    "\(endpoints.printers.count) printer(s) ready on \(range): RAW port \(first.rawPort), LPD port \(first.lpdPort)\(status)",
                    metadata: ["printplane.spool": "\(configuration.spoolDirectory)"])
            }
            try await tasks.waitForAll()
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Structured logs to stderr, labelled by component (STYLE.md: `printplane.<component>`).
func makeLogger(label: String, level: Logger.Level) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = level
    return logger
}
