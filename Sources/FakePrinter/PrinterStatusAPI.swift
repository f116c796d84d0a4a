import Foundation
import Hummingbird
import Logging
import NIOCore

/// The fake printers' HTTP/JSON endpoint, so tests and the simulator can check what
/// actually arrived and switch faults at run time. `{printer}` is an address or an index.
///
/// ```
/// GET    /healthz
/// GET    /printers                         every printer: faults, PJL status, counters
/// GET    /printers/{printer}
/// GET    /printers/{printer}/jobs          ?since=ID returns only newer jobs
/// DELETE /printers/{printer}/jobs          forget stored jobs (the life counter stays)
/// GET    /printers/{printer}/jobs/{id}
/// GET    /printers/{printer}/jobs/{id}/documents/{n}   the bytes as received
/// PUT    /printers/{printer}/faults        body: {"offline":true} {"bytes_per_second":1000} …
/// DELETE /printers/{printer}/faults
/// GET    /jobs                             every printer's jobs
/// GET    /counters                         totals over all printers
/// PUT    /faults, DELETE /faults           every printer at once
/// ```
struct PrinterStatusAPI {
    let service: FakePrinterService

    /// Totals over all printers, for `GET /counters`.
    struct Totals: Codable, Sendable {
        var printers: Int
        var counters: VirtualPrinter.Counters
    }

    struct ErrorBody: Codable {
        var reason: String
        var message: String
    }

    func application(host: String, port: Int, logger: Logger, onRunning: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        let service = self.service

        router.get("healthz") { _, _ in Self.json(["status": "ok"]) }
        router.get("printers") { _, _ in
            var snapshots: [VirtualPrinter.Snapshot] = []
            for printer in service.printers { snapshots.append(await printer.snapshot()) }
            return Self.json(snapshots)
        }
        router.get("printers/:printer") { _, context in
            Self.json(await try Self.printer(service, context).snapshot())
        }
        router.get("printers/:printer/jobs") { request, context in
            let since = request.uri.queryParameters.get("since", as: Int.self) ?? 0
            return Self.json(await try Self.printer(service, context).jobs().filter { $0.id > since })
        }
        router.delete("printers/:printer/jobs") { _, context in
            let printer = try Self.printer(service, context)
            await printer.clearJobs()
            return Self.json(await printer.snapshot())
        }
        router.get("printers/:printer/jobs/:id") { _, context in
            let printer = try Self.printer(service, context)
            let id = try context.parameters.require("id", as: Int.self)
            guard let job = await printer.job(id) else { throw FakePrinterError.unknownJob(String(id)) }
            return Self.json(job)
        }
        router.get("printers/:printer/jobs/:id/documents/:index") { _, context in
            let printer = try Self.printer(service, context)
            let id = try context.parameters.require("id", as: Int.self)
            let index = try context.parameters.require("index", as: Int.self)
            guard let job = await printer.job(id), job.documents.indices.contains(index) else { throw FakePrinterError.unknownJob("\(id) document \(index)") }
            guard let stored = job.documents[index].storedAs else {
                throw HTTPError(.notFound, message: "this printer keeps metadata only (--no-keep-bytes)")
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: printer.documentPath(storedAs: stored)))
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.put("printers/:printer/faults") { request, context in
            let printer = try Self.printer(service, context)
            let faults = try await Self.decodeFaults(request, context)
            try await printer.setFaults(faults)
            return Self.json(await printer.snapshot())
        }
        router.delete("printers/:printer/faults") { _, context in
            let printer = try Self.printer(service, context)
            try await printer.setFaults(PrinterFaults())
            return Self.json(await printer.snapshot())
        }
        router.get("jobs") { _, _ in
            var jobs: [PrintedJob] = []
            for printer in service.printers { jobs += await printer.jobs() }
            return Self.json(jobs)
        }
        router.get("counters") { _, _ in
            var totals = VirtualPrinter.Counters()
            for printer in service.printers {
                let c = await printer.snapshot().counters
                totals.lifePageCount += c.lifePageCount
                totals.jobsPrinted += c.jobsPrinted
                totals.jobsHeld += c.jobsHeld
                totals.jobsDropped += c.jobsDropped
                totals.jobsRefused += c.jobsRefused
                totals.jobsRemoved += c.jobsRemoved
                totals.bytesReceived += c.bytesReceived
                totals.connections += c.connections
                totals.activeJobs += c.activeJobs
            }
            return Self.json(Totals(printers: service.printers.count, counters: totals))
        }
        router.put("faults") { request, context in
            let faults = try await Self.decodeFaults(request, context)
            for printer in service.printers { try await printer.setFaults(faults) }
            return Self.json(["printers": service.printers.count])
        }
        router.delete("faults") { _, _ in
            for printer in service.printers { try await printer.setFaults(PrinterFaults()) }
            return Self.json(["printers": service.printers.count])
        }

        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "printplane-printer"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    private static func printer(_ service: FakePrinterService, _ context: BasicRequestContext) throws -> VirtualPrinter {
        try service.printer(named: context.parameters.require("printer"))
    }

    private static func decodeFaults(_ request: Request, _ context: BasicRequestContext) async throws -> PrinterFaults {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") ?? false else {
            throw HTTPError(.unsupportedMediaType, message: "send faults as application/json")
        }
        let body = try await request.body.collect(upTo: 64 * 1024)
        do {
            return try JSONDecoder().decode(PrinterFaults.self, from: body)
        } catch {
            throw HTTPError(.badRequest, message: "bad faults JSON: \(error); expected e.g. {\"offline\": true, \"bytes_per_second\": 1000, \"drop_after_bytes\": 4096, \"paper_out\": false, \"jam\": false, \"busy\": false}")
        }
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: JobStore.encode(value))))
    }

    /// Turns every error into a JSON body with a machine-readable reason.
    struct ErrorMiddleware: RouterMiddleware {
        typealias Context = BasicRequestContext
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            do {
                return try await next(request, context)
            } catch let error as FakePrinterError {
                let status: HTTPResponse.Status = error.reason.hasPrefix("unknown") ? .notFound : .internalServerError
                return PrinterStatusAPI.json(ErrorBody(reason: error.reason, message: error.description), status: status)
            } catch let error as HTTPError {
                let reason = error.status == .notFound ? "not_found" : error.status.code < 500 ? "bad_request" : "internal_error"
                return PrinterStatusAPI.json(ErrorBody(reason: reason, message: error.body ?? error.status.reasonPhrase), status: error.status)
            } catch {
                return PrinterStatusAPI.json(ErrorBody(reason: "internal_error", message: "\(error)"), status: .internalServerError)
            }
        }
    }
}
