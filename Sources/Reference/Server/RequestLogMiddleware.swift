import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PrintplaneCore

/// The edge: gives every request an ID, logs it as one structured line, counts it,
/// and turns any error into a status with a JSON `{"reason", "message"}` body.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext

    let metrics: ServerMetrics
    let maxHeaderBytes: Int
    static let requestIDField = HTTPField.Name("X-Request-ID")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        let headerBytes = request.headers.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count + 4 }
        if headerBytes > self.maxHeaderBytes {
            response = HTTPBody.response(for: .headerTooLarge(limit: self.maxHeaderBytes))
        } else {
            do {
                response = try await next(request, context)
            } catch let error as ServerError {
                response = HTTPBody.response(for: error)
            } catch let error as HTTPError {
                response = Self.response(for: error)
            } catch {
                context.logger.error("request failed", metadata: ["printplane.error": "\(String(reflecting: error))"])
                response = HTTPBody.response(for: .internalError)
            }
        }
        response.headers[Self.requestIDField] = context.id
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let route = context.endpointPath ?? "unmatched"
        self.metrics.recordRequest(method: request.method.rawValue, route: route, status: response.status.code, seconds: seconds)
        let level: Logger.Level = response.status.code >= 500 ? .warning : .info
        context.logger.log(level: level, "request", metadata: [
            "printplane.request.method": "\(request.method.rawValue)",
            "printplane.request.path": "\(request.uri.path)",
            "printplane.request.route": "\(route)",
            "printplane.response.status": "\(response.status.code)",
            "printplane.request.duration_ms": "\(Int(seconds * 1000))",
            "printplane.request.peer": "\(context.remoteAddress?.description ?? "-")",
        ])
        return response
    }

    /// Framework errors (no route, body over the framework's cap) in the same JSON shape.
    static func response(for error: HTTPError) -> Response {
        let reason: String
        switch error.status.code {
        case 404: reason = "not_found"
        case 405: reason = "method_not_allowed"
        case 413: reason = "body_too_large"
        case 400..<500: reason = "bad_request"
        default: reason = "internal_error"
        }
        let message = error.body ?? error.status.reasonPhrase
        let body = APIErrorBody(reason: reason, message: message)
        return (try? HTTPBody.response(body, status: error.status)) ?? Response(status: error.status)
    }
}
