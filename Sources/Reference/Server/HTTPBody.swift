import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PrintplaneCore

/// Reading and writing JSON bodies at the HTTP edge, with the content-type and size rules.
enum HTTPBody {
    static let jsonMediaType = "application/json"

    /// Collects at most `limit` bytes of a JSON body and decodes it.
    static func decode<Value: Decodable>(_ type: Value.Type, from request: Request, limit: Int) async throws -> Value {
        let buffer = try await collect(request, limit: limit, contentType: jsonMediaType)
        do {
            return try WireCoding.makeDecoder().decode(Value.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw ServerError.malformedJSON(describe(error))
        } catch {
            throw ServerError.malformedJSON("unreadable body")
        }
    }

    /// Collects at most `limit` bytes after checking the media type.
    static func collect(_ request: Request, limit: Int, contentType expected: String) async throws -> ByteBuffer {
        guard let contentType = request.headers[.contentType],
              contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == expected
        else {
            throw ServerError.unsupportedMediaType(expected: expected)
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw ServerError.bodyTooLarge(limit: limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ServerError.bodyTooLarge(limit: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ServerError.bodyTooLarge(limit: limit)
        }
    }

    /// A JSON response with the wire encoding.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let data = try WireCoding.makeEncoder().encode(value)
        var fields = headers
        fields[.contentType] = jsonMediaType
        fields[.contentLength] = String(data.count)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The error body for `error`, with `Retry-After` when it has one.
    static func response(for error: ServerError) -> Response {
        var headers = HTTPFields()
        if let retryAfter = error.retryAfterSeconds { headers[.retryAfter] = String(retryAfter) }
        return (try? response(APIErrorBody(reason: error.reason, message: error.message), status: error.status, headers: headers))
            ?? Response(status: error.status)
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? "body" : path
        }
        switch error {
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription.prefix(200))"
        case .keyNotFound(let key, let context): return "\(path(context)).\(key.stringValue) is missing".replacingOccurrences(of: "body.", with: "")
        case .typeMismatch(_, let context): return "\(path(context)) has the wrong type"
        case .valueNotFound(_, let context): return "\(path(context)) is null"
        @unknown default: return "undecodable"
        }
    }
}
