import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import PrintplaneServer

/// A browser-like client for the console over real TLS: keeps cookies (as a browser would
/// for `Path=/console`), follows no redirects, sends the server's own `Origin` on POSTs
/// unless told otherwise, and reads CSRF tokens out of pages.
struct ConsoleClient {
    let server: TestServer
    var cookies: [String: String] = [:]

    init(_ server: TestServer) {
        self.server = server
    }

    /// The session cookie's value, if the client holds one.
    var sessionID: String? { self.cookies[ConsoleSessions.cookieName] }

    mutating func get(_ path: String, headers: [(String, String)] = []) async throws -> TestResponse {
        try await self.send(.GET, path, headers: headers, body: nil, contentType: nil)
    }

    /// POSTs a form. `origin: nil` sends no Origin header.
    mutating func post(
        _ path: String, _ fields: [(String, String)], origin: String?? = .none, headers: [(String, String)] = [],
        contentType: String = "application/x-www-form-urlencoded"
    ) async throws -> TestResponse {
        var all = headers
        switch origin {
        case .none: all.append(("Origin", self.server.baseURL))
        case .some(.some(let value)): all.append(("Origin", value))
        case .some(.none): break
        }
        return try await self.send(.POST, path, headers: all, body: Data(FormFields.encode(fields).utf8), contentType: contentType)
    }

    /// POSTs raw bytes with the server's Origin.
    mutating func postRaw(_ path: String, body: Data, contentType: String, headers: [(String, String)] = []) async throws -> TestResponse {
        try await self.send(.POST, path, headers: [("Origin", self.server.baseURL)] + headers, body: body, contentType: contentType)
    }

    /// Loads the login page and signs in with `secret` (the admin key by default).
    mutating func signIn(_ secret: String? = nil, username: String = "") async throws -> TestResponse {
        let page = try await self.get("/console/login")
        guard let token = Self.csrfToken(in: page.text) else {
            Issue.record("no CSRF token on the login page: \(page.status) \(page.text.prefix(400))")
            return page
        }
        return try await self.post("/console/login", [("csrf_token", token), ("username", username), ("secret", secret ?? self.server.adminKey)])
    }

    /// Signs in and expects success.
    mutating func signedIn() async throws {
        let response = try await self.signIn()
        #expect(response.status == 303 && response.headers.first(name: "Location") == "/console", "\(response.status) \(response.text.prefix(300))")
        #expect(self.sessionID != nil)
    }

    /// The CSRF token of a console page (every page of a session carries the same one).
    mutating func csrfToken(_ path: String = "/console") async throws -> String {
        let page = try await self.get(path)
        let token = Self.csrfToken(in: page.text)
        #expect(token != nil, "no CSRF token on \(path): \(page.status)")
        return token ?? ""
    }

    /// Submits a form of a signed-in session with its CSRF token.
    mutating func submit(_ path: String, _ fields: [(String, String)]) async throws -> TestResponse {
        let token = try await self.csrfToken()
        return try await self.post(path, [("csrf_token", token)] + fields)
    }

    static func csrfToken(in html: String) -> String? {
        guard let range = html.range(of: #"name="csrf_token" value=""#) else { return nil }
        let rest = html[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    private mutating func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)], body: Data?, contentType: String?) async throws -> TestResponse {
        var request = HTTPClientRequest(url: self.server.baseURL + path)
        request.method = method
        if !self.cookies.isEmpty {
            request.headers.add(name: "Cookie", value: self.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
        }
        if let body {
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            request.body = .bytes(ByteBuffer(data: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await self.server.plainClient.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        for header in response.headers["Set-Cookie"] {
            let pair = header.split(separator: ";", maxSplits: 1)[0]
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let name = String(pair[..<equals]), value = String(pair[pair.index(after: equals)...])
            if header.contains("Max-Age=0") || value.isEmpty { self.cookies[name] = nil } else { self.cookies[name] = value }
        }
        return TestResponse(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }
}
