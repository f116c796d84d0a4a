/// The entries of a search fetched page by page with the Simple Paged Results control
/// (RFC 2696): the client repeats the request with the server's cookie until the cookie
/// comes back empty.
public struct LDAPPagedSearch: AsyncSequence, Sendable {
    public typealias Element = SearchResultEntry

    let connection: LDAPConnection
    let request: SearchRequest
    let pageSize: Int
    let controls: [LDAPControl]

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(search: self)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        private let search: LDAPPagedSearch
        private var buffer: [SearchResultEntry] = []
        private var position = 0
        private var cookie: [UInt8] = []
        private var finished = false
        /// How many pages were fetched so far.
        public private(set) var pages = 0

        init(search: LDAPPagedSearch) {
            self.search = search
        }

        public mutating func next() async throws -> SearchResultEntry? {
            while self.position == self.buffer.count {
                if self.finished { return nil }
                try await self.fetchPage()
            }
            defer { self.position += 1 }
            return self.buffer[self.position]
        }

        private mutating func fetchPage() async throws {
            let paging = PagedResultsControl(size: self.search.pageSize, cookie: self.cookie).control(criticality: true)
            let result = try await self.search.connection.search(self.search.request, controls: self.search.controls + [paging])
            self.pages += 1
            self.buffer = result.entries
            self.position = 0
            let response = try result.controls.lazy.compactMap { try PagedResultsControl($0) }.first
            guard let response else {
                // RFC 2696 §3: a server that ignores the (critical) control cannot be paged.
                if result.result.resultCode != .success { throw LDAPClientError.operationFailed("paged search", result.result) }
                self.finished = true
                return
            }
            self.cookie = response.cookie
            self.finished = response.cookie.isEmpty
            if result.result.resultCode != .success { throw LDAPClientError.operationFailed("paged search", result.result) }
        }
    }
}
