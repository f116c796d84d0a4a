import NIOConcurrencyHelpers

/// Bounds the driver downloads in flight; a download holds a ``Permit`` until its body
/// has been written or dropped.
public final class DownloadLimiter: Sendable {
    /// One admitted download. Released when the last reference goes, so a response body
    /// that is never written (client gone) cannot leak its slot.
    public final class Permit: Sendable {
        private let limiter: DownloadLimiter
        fileprivate init(limiter: DownloadLimiter) { self.limiter = limiter }
        deinit { self.limiter.release() }
    }

    private let limit: Int
    private let inFlight = NIOLockedValueBox(0)

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// A permit, or `nil` when `limit` downloads are already running.
    public func tryAcquire() -> Permit? {
        let admitted = self.inFlight.withLockedValue { count -> Bool in
            guard count < self.limit else { return false }
            count += 1
            return true
        }
        return admitted ? Permit(limiter: self) : nil
    }

    /// Downloads in flight now.
    public var current: Int { self.inFlight.withLockedValue { $0 } }

    fileprivate func release() {
        self.inFlight.withLockedValue { $0 -= 1 }
    }
}
