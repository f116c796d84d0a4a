import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PrintplaneCore

/// Answers `GET` and `HEAD` for one content-addressed driver package on disk, the same way
/// on the cloud server (`/api/v1/drivers/{sha256}`) and on a LAN cache (`/drivers/{sha256}`):
///
/// - the strong `ETag` is the quoted SHA-256, so `If-None-Match` answers 304 (RFC 9110 §13.1.2);
/// - a single `Range` answers 206 with `Content-Range`, one that misses the package 416
///   (RFC 9110 §14); multi-range requests are answered whole;
/// - `HEAD` gives the size and ETag without a body and without a download slot;
/// - at most ``limiter``'s limit of bodies stream at once; past it the caller answers 503.
///
/// Callers authenticate, find the file and measure its size first: this type knows nothing of
/// who asks or where the bytes came from, only how to send them.
public struct DriverDownloadResponder: Sendable {
    /// Bounds the bodies in flight.
    public let limiter: DownloadLimiter
    /// `Cache-Control` of every answer (content-addressed packages never change).
    public var cacheControl: String

    public init(limiter: DownloadLimiter, cacheControl: String = "private, max-age=31536000, immutable") {
        self.limiter = limiter
        self.cacheControl = cacheControl
    }

    /// What to send back.
    public enum Answer: Sendable {
        case response(Response)
        /// Every download slot is taken: answer 503 with `Retry-After`.
        case busy
    }

    /// The strong entity tag of a package: its quoted digest.
    public static func etag(sha256: String) -> String { "\"\(sha256)\"" }

    /// Whether `If-None-Match` names `etag` (or `*`).
    public static func matches(ifNoneMatch header: String?, etag: String) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains { candidate in
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            return trimmed == etag || trimmed == "*" || trimmed == "W/" + etag
        }
    }

    /// Answers `method` with `headers` for the package `sha256`, `size` bytes at `path`.
    /// `onBytes` is told of every chunk sent (for metrics).
    public func respond(
        method: HTTPRequest.Method, headers requestHeaders: HTTPFields, sha256: String, path: String, size: Int64,
        eventLoop: any EventLoop, onBytes: @escaping @Sendable (Int) -> Void = { _ in }
    ) -> Answer {
        let etag = Self.etag(sha256: sha256)
        var headers = HTTPFields()
        headers[.eTag] = etag
        headers[.acceptRanges] = "bytes"
        headers[.cacheControl] = self.cacheControl
        if Self.matches(ifNoneMatch: requestHeaders[.ifNoneMatch], etag: etag) {
            return .response(Response(status: .notModified, headers: headers))
        }
        var range: ClosedRange<Int64>?
        if let header = requestHeaders[.range] {
            switch ByteRange.parse(header, size: size) {
            case .none: break
            case .unsatisfiable:
                return .response(Self.rangeNotSatisfiable(size: size, headers: headers))
            case .range(let parsed): range = parsed
            }
        }
        headers[.contentType] = "application/octet-stream"
        if method == .head {
            headers[.contentLength] = String(size)
            return .response(Response(status: .ok, headers: headers))
        }
        guard let permit = self.limiter.tryAcquire() else { return .busy }
        let status: HTTPResponse.Status
        let span: ClosedRange<Int64>
        if let range {
            status = .partialContent
            span = range
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
        } else {
            status = .ok
            span = 0...max(0, size - 1)
        }
        guard size > 0 else { return .response(Response(status: status, headers: headers, body: .init())) }
        let body = FileBody.stream(path: path, range: span, permit: permit, eventLoop: eventLoop, onBytes: onBytes)
        return .response(Response(status: status, headers: headers, body: body))
    }

    /// 416 with `Content-Range: bytes */size` and the JSON error body.
    static func rangeNotSatisfiable(size: Int64, headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentRange] = "bytes */\(size)"
        return JSONAnswer.error(status: .rangeNotSatisfiable, reason: "range_not_satisfiable", message: "The Range does not overlap the \(size)-byte driver.", headers: headers)
    }
}

/// JSON answers in the wire encoding, for the parts of the HTTP edge shared by the server and
/// the cache.
public enum JSONAnswer {
    /// `value` as JSON with `status`.
    public static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let data = (try? WireCoding.makeEncoder().encode(value)) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(data.count)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The error body `{"reason": …, "message": …}`, with `Retry-After` when given.
    public static func error(status: HTTPResponse.Status, reason: String, message: String, retryAfter: Int? = nil, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        if let retryAfter { fields[.retryAfter] = String(retryAfter) }
        return self.response(APIErrorBody(reason: reason, message: message), status: status, headers: fields)
    }
}
