import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import PrintplaneCore

/// Answers requests the HTTP/1.1 parser rejects (RFC 9112 §2.2: a malformed message, or
/// headers past the decoder's 80 KiB cap) with the same JSON error body as every other
/// refusal, then closes the connection. Without it the client gets an empty 400.
final class HTTPParserErrorHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private var answered = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !self.answered else { return }
        self.answered = true
        let body: APIErrorBody
        let status: HTTPResponse.Status
        if parserError == .headerOverflow {
            status = .init(code: 431, reasonPhrase: "Request Header Fields Too Large")
            body = APIErrorBody(reason: "header_too_large", message: "The request headers are larger than the server accepts.")
        } else {
            status = .badRequest
            body = APIErrorBody(reason: "bad_request", message: "The request is not well-formed HTTP/1.1.")
        }
        let bytes = (try? WireCoding.makeEncoder().encode(body)).map { Array($0) } ?? []
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(bytes.count)
        fields[.connection] = "close"
        context.write(self.wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(self.wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: bytes))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in
            bound.value.close(promise: nil)
        }
    }
}
