import HTTPTypes
import Hummingbird

/// Registers routes on the router and remembers each (method, path) so the OpenAPI
/// drift test can compare the served API with `openapi/openapi.yaml` in both directions.
final class RouteTable {
    private(set) var routes: [(method: String, path: String)] = []
    let router: Router<ServerRequestContext>

    init(router: Router<ServerRequestContext>) {
        self.router = router
    }

    /// Adds a route. `path` uses Hummingbird's `{name}` parameters, as OpenAPI does.
    func add(
        _ method: HTTPRequest.Method, _ path: String,
        _ handler: @escaping @Sendable (Request, ServerRequestContext) async throws -> Response
    ) {
        self.routes.append((method.rawValue, path))
        self.router.on(RouterPath(path), method: method, use: handler)
    }
}
