import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PrintProtocols

/// Reads a CUPS server's queues over IPP (RFC 8010/8011, with the CUPS operations
/// `CUPS-Get-Printers` and `CUPS-Get-PPD` from "CUPS Implementation of IPP").
///
/// `ipp://host[:631]` is IPP over plain HTTP, `ipps://host[:443… or 631]` over TLS, trusting
/// the system roots or the given CA (a CUPS server's self-signed certificate is its own CA).
public struct CUPSClient: Sendable {
    /// A failure to read the server, in words an admin can act on.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Largest IPP answer read (a server with thousands of queues answers a few MB; a PPD is
    /// rarely over 1 MB).
    static let maximumResponseBytes = 64 * 1024 * 1024

    private let client: HTTPClient
    private let endpoint: String
    private let ippHost: String
    private let timeout: TimeAmount

    /// Runs `body` with a client for the server at `url`, shutting it down afterwards.
    public static func with<Result: Sendable>(
        url: String, caFile: String? = nil, timeout: TimeAmount = .seconds(30), _ body: (CUPSClient) async throws -> Result
    ) async throws -> Result {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host, !host.isEmpty else {
            throw Failure(description: "--from must be an ipp:// or ipps:// URL of a CUPS server, e.g. ipp://printserver.corp.example.com:631, got \(url)")
        }
        let secure: Bool
        switch scheme {
        case "ipp", "http": secure = false
        case "ipps", "https": secure = true
        default: throw Failure(description: "--from must be an ipp:// or ipps:// URL, got a \(scheme):// URL")
        }
        let port = components.port ?? 631
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw Failure(description: "--ipp-ca-file \(caFile) is not a readable PEM file: \(error)")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: timeout)
        configuration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let cups = CUPSClient(
            client: client, endpoint: "\(secure ? "https" : "http")://\(hostPart):\(port)/", ippHost: "\(hostPart):\(port)", timeout: timeout)
        do {
            let result = try await body(cups)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private init(client: HTTPClient, endpoint: String, ippHost: String, timeout: TimeAmount) {
        self.client = client
        self.endpoint = endpoint
        self.ippHost = ippHost
        self.timeout = timeout
    }

    /// Every printer and class the server has; with `ppds`, each queue's PPD too.
    public func queues(ppds: Bool) async throws -> [CUPSQueue] {
        let request = IPPMessage.request(.cupsGetPrinters, requestID: 1, operationAttributes: [
            IPPAttribute("requested-attributes", values: CUPSQueue.requestedAttributes.map { .keyword($0) }),
        ])
        let answer = try await self.send(request, what: "CUPS-Get-Printers")
        // A server with no queues answers client-error-not-found.
        if answer.status == .clientErrorNotFound { return [] }
        guard answer.status.isSuccessful else { throw Failure(description: "the server refused CUPS-Get-Printers: \(answer.status)\(Self.message(answer))") }
        var queues = answer.groups(.printer).compactMap(CUPSQueue.init)
        if ppds {
            for index in queues.indices where !queues[index].isClass {
                queues[index].ppd = try await self.ppd(queue: queues[index].name)
            }
        }
        return queues
    }

    /// The queue's PPD, or `nil` if it has none (a raw or driverless queue).
    public func ppd(queue: String) async throws -> ByteBuffer? {
        let escaped = queue.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? queue
        let request = IPPMessage.request(.cupsGetPPD, requestID: 2, operationAttributes: [
            IPPAttribute("printer-uri", .uri("ipp://\(self.ippHost)/printers/\(escaped)")),
        ])
        let answer = try await self.send(request, what: "CUPS-Get-PPD for \(queue)")
        if answer.status.isSuccessful { return answer.data.readableBytes > 0 ? answer.data : nil }
        // not-found: no PPD; cups-see-other (0x0280): the PPD is on another server.
        if answer.status == .clientErrorNotFound || answer.code == 0x0280 { return nil }
        throw Failure(description: "the server refused CUPS-Get-PPD for \(queue): \(answer.status)\(Self.message(answer))")
    }

    private static func message(_ answer: IPPMessage) -> String {
        answer.groups(.operation).first?["status-message"]?.string.map { " (\($0))" } ?? ""
    }

    private func send(_ message: IPPMessage, what: String) async throws -> IPPMessage {
        var request = HTTPClientRequest(url: self.endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/ipp")
        request.body = .bytes(try message.encoded())
        let response: HTTPClientResponse
        do {
            response = try await self.client.execute(request, timeout: self.timeout)
        } catch {
            throw Failure(description: "cannot reach the CUPS server at \(self.endpoint) (\(what)): \(error)")
        }
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: Self.maximumResponseBytes)
        } catch {
            throw Failure(description: "the answer to \(what) could not be read (over \(Self.maximumResponseBytes / 1_048_576) MB?): \(error)")
        }
        switch response.status.code {
        case 200: break
        case 401, 403:
            throw Failure(description: "the CUPS server at \(self.endpoint) refused \(what) with HTTP \(response.status.code): allow this host in its cupsd.conf <Location /> (Allow from …)")
        default:
            throw Failure(description: "\(self.endpoint) answered \(what) with HTTP \(response.status.code) \(response.status.reasonPhrase) (\(response.headers.first(name: "Content-Type") ?? "no content type")): is it a CUPS server?")
        }
        guard response.headers.first(name: "Content-Type")?.lowercased().hasPrefix("application/ipp") ?? false else {
            throw Failure(description: "\(self.endpoint) answered \(what) with \(response.headers.first(name: "Content-Type") ?? "no content type"), not application/ipp: is it a CUPS server?")
        }
        do {
            return try IPPMessage(parsing: body)
        } catch {
            throw Failure(description: "the answer to \(what) is not valid IPP: \(error)")
        }
    }
}
