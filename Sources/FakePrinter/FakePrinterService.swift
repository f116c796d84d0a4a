import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Runs `configuration.count` fake printers and their HTTP/JSON status endpoint as one
/// `Service`. On graceful shutdown the listeners close and in-flight jobs finish.
public final class FakePrinterService: Service {
    /// Where each printer and the status endpoint actually listen (resolves port 0).
    public struct Endpoints: Sendable {
        public struct Printer: Sendable {
            public var address: String
            public var rawPort: Int
            public var lpdPort: Int
        }
        public var printers: [Printer]
        public var httpPort: Int?
    }

    public let configuration: FakePrinterConfiguration
    public let printers: [VirtualPrinter]
    private let logger: Logger
    private let readiness: [PrinterListener.Readiness]
    private let httpReady: AsyncStream<Result<Int, FakePrinterError>>
    private let httpReadyContinuation: AsyncStream<Result<Int, FakePrinterError>>.Continuation

    /// Validates the configuration and opens every printer's job store (nothing listens yet).
    public init(configuration: FakePrinterConfiguration, logger: Logger) throws(FakePrinterError) {
        self.configuration = configuration
        self.logger = logger
        let addresses = try configuration.printerAddresses()
        var printers: [VirtualPrinter] = []
        for (index, address) in addresses.enumerated() {
            printers.append(try VirtualPrinter(index: index, address: address, configuration: configuration, logger: logger))
        }
        self.printers = printers
        self.readiness = printers.map { _ in PrinterListener.Readiness() }
        (httpReady, httpReadyContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public func run() async throws {
        let streams = await withTaskGroup(of: (Int, AsyncStream<FaultChange>).self) { group in
            for (index, printer) in printers.enumerated() { group.addTask { (index, await printer.faultChanges()) } }
            var result: [Int: AsyncStream<FaultChange>] = [:]
            for await (index, stream) in group { result[index] = stream }
            return result
        }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                for (index, printer) in printers.enumerated() {
                    let listener = PrinterListener(printer: printer, configuration: configuration, logger: logger, readiness: readiness[index])
                    let changes = streams[index]!
                    group.addTask { try await listener.run(changes: changes) }
                }
                if let port = configuration.httpPort {
                    let app = PrinterStatusAPI(service: self).application(host: printers[0].address, port: port, logger: logger) { [httpReadyContinuation] port in
                        httpReadyContinuation.yield(.success(port))
                    }
                    group.addTask { [httpReadyContinuation, printers] in
                        // Its service group follows ours into graceful shutdown.
                        do {
                            try await app.run()
                        } catch {
                            httpReadyContinuation.yield(.failure(.bindFailed("HTTP on \(printers[0].address):\(port): \(error)")))
                            throw error
                        }
                    }
                }
            }
        } onGracefulShutdown: { [printers] in
            for printer in printers { printer.shutdown() }
        }
        logger.info("fake printers stopped")
    }

    /// Waits until every printer (and the HTTP endpoint) is listening, and returns where.
    /// Throws the first listener's error (`bindFailed`: a port taken, an address not on
    /// this host) instead of waiting for a listener that will never come up.
    public func endpoints() async throws(FakePrinterError) -> Endpoints {
        var result: [Endpoints.Printer] = []
        for (index, printer) in printers.enumerated() {
            var iterator = readiness[index].ports.makeAsyncIterator()
            guard let ready = await iterator.next() else { throw .bindFailed("printer \(printer.address) stopped before it listened") }
            readiness[index].continuation.yield(ready)
            let ports = try ready.get()
            result.append(.init(address: printer.address, rawPort: ports.raw, lpdPort: ports.lpd))
        }
        var httpPort: Int?
        if configuration.httpPort != nil {
            var iterator = httpReady.makeAsyncIterator()
            guard let ready = await iterator.next() else { throw .bindFailed("the HTTP endpoint stopped before it listened") }
            httpReadyContinuation.yield(ready)
            httpPort = try ready.get()
        }
        return Endpoints(printers: result, httpPort: httpPort)
    }

    /// Finds a printer by its address or its index.
    public func printer(named name: String) throws(FakePrinterError) -> VirtualPrinter {
        if let match = printers.first(where: { $0.address == name }) { return match }
        if let index = Int(name), printers.indices.contains(index) { return printers[index] }
        throw .unknownPrinter(name)
    }
}
