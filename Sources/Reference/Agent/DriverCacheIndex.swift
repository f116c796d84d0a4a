import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import PrintplaneCore

/// What the cache knows, behind one lock so request handlers read it without suspending:
/// the manifests the cloud last listed (each signature checked here, with the key the cloud
/// gave at enrollment), the packages on disk that passed verification, recent fetch
/// failures, and whether the cloud has refused this cache's credential.
///
/// Only a digest that is both listed and verified on disk is ever served.
final class DriverCacheIndex: Sendable {
    struct State: Sendable {
        var manifests: [String: SignedDriverManifest] = [:]
        var registration: DriverCacheRoute?
        /// Verified packages on disk: digest → size.
        var ready: [String: Int64] = [:]
        /// Fetches that failed recently: answered 502 at once until `until`.
        var failures: [String: Failure] = [:]
        /// Set once the cloud refused the credential or registration; the cache then serves nothing.
        var refusal: DriverCacheError?
        var lastRefresh: ContinuousClock.Instant?
        var lastRefreshAttempt: ContinuousClock.Instant?
        /// When the latest refresh began (so a request knows whether a list could name a
        /// driver published after it arrived).
        var lastRefreshStart: ContinuousClock.Instant?
        var lastRefreshError: String?
        var lastRefreshDate: Date?
    }

    struct Failure: Sendable {
        var until: ContinuousClock.Instant
        var reason: String
    }

    let configuration: DriverCacheConfiguration
    let publicKey: Curve25519.Signing.PublicKey
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    init(configuration: DriverCacheConfiguration, publicKey: Curve25519.Signing.PublicKey, logger: Logger) {
        self.configuration = configuration
        self.publicKey = publicKey
        self.logger = logger
    }

    var current: State { self.state.withLockedValue { $0 } }

    func path(of sha256: String) -> String { "\(self.configuration.driversDirectory)/\(sha256).driver" }

    // MARK: Manifests

    /// Takes a list from the cloud: keeps the manifests whose signature verifies (logging the
    /// others), forgets packages no longer listed (deleting their files), clears the failures
    /// of listed digests. Returns the digests dropped.
    @discardableResult
    func apply(_ list: DriverCacheManifests, persist: Bool = true) -> [String] {
        var accepted = [String: SignedDriverManifest]()
        for manifest in list.manifests {
            guard manifest.manifest.validationProblems.isEmpty, manifest.hasValidSignature(from: self.publicKey) else {
                self.logger.error("the cloud listed a driver manifest whose signature does not verify; it will not be served", metadata: [
                    "printplane.driver.sha256": "\(manifest.manifest.sha256.prefix(64))", "printplane.driver.name": "\(manifest.manifest.name.prefix(128))",
                ])
                continue
            }
            accepted[manifest.manifest.sha256] = manifest
        }
        let dropped = self.state.withLockedValue { state -> [String] in
            state.manifests = accepted
            state.registration = list.cache
            let gone = state.ready.keys.filter { accepted[$0] == nil }
            for sha in gone { state.ready.removeValue(forKey: sha) }
            return gone.sorted()
        }
        for sha in dropped {
            try? FileManager.default.removeItem(atPath: self.path(of: sha))
            self.logger.info("driver no longer listed by the cloud; removed", metadata: ["printplane.driver.sha256": "\(sha)"])
        }
        if persist {
            do {
                try AtomicFile.write(try WireCoding.makeEncoder().encode(list), to: self.configuration.manifestsPath, mode: 0o600)
            } catch {
                self.logger.warning("cannot save the manifest list", metadata: ["printplane.error": "\(error)"])
            }
        }
        return dropped
    }

    /// Notes that a refresh begins.
    func refreshStarting() {
        let now = ContinuousClock.now
        self.state.withLockedValue { $0.lastRefreshStart = now }
    }

    /// Notes a refresh attempt and its outcome.
    func refreshed(error: DriverCacheError?) {
        let now = ContinuousClock.now
        self.state.withLockedValue { state in
            state.lastRefreshAttempt = now
            if let error {
                state.lastRefreshError = error.description
                if error.isRefusal { state.refusal = error }
            } else {
                state.lastRefresh = now
                state.lastRefreshDate = Date()
                state.lastRefreshError = nil
            }
        }
    }

    /// Loads the list saved by the last successful refresh (signatures checked again).
    func loadSaved() {
        guard let data = FileManager.default.contents(atPath: self.configuration.manifestsPath) else { return }
        guard let list = try? WireCoding.makeDecoder().decode(DriverCacheManifests.self, from: data) else {
            self.logger.warning("the saved manifest list is unreadable; waiting for the cloud", metadata: ["printplane.path": "\(self.configuration.manifestsPath)"])
            return
        }
        self.apply(list, persist: false)
    }

    // MARK: Packages

    /// Checks every package on disk against its listed manifest (digest, size, signature):
    /// those that pass are served, those that fail are deleted and logged. Files of digests
    /// not listed (yet) are left for a later fetch to re-verify.
    func scanDisk() {
        let directory = self.configuration.driversDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let manifests = self.current.manifests
        for name in names where name.hasSuffix(".driver") {
            let sha = String(name.dropLast(7))
            guard let manifest = manifests[sha] else { continue }
            let path = "\(directory)/\(name)"
            do {
                let (digest, size) = try FileDriverStore.hash(path: path)
                try manifest.verify(digest: digest, size: size, publicKey: self.publicKey)
                self.state.withLockedValue { $0.ready[sha] = size }
            } catch {
                try? FileManager.default.removeItem(atPath: path)
                self.logger.error("a package on disk failed verification; removed", metadata: ["printplane.driver.sha256": "\(sha)", "printplane.error": "\(error)"])
            }
        }
    }

    /// A verified package, ready to serve.
    func markReady(sha256: String, size: Int64) {
        self.state.withLockedValue { state in
            state.ready[sha256] = size
            state.failures.removeValue(forKey: sha256)
        }
    }

    func markFailed(sha256: String, reason: String) {
        let until = ContinuousClock.now + self.configuration.failureBackoff
        self.state.withLockedValue { $0.failures[sha256] = Failure(until: until, reason: reason) }
    }

    /// The size of a servable package, or nil.
    func readySize(_ sha256: String) -> Int64? {
        self.state.withLockedValue { state in state.manifests[sha256] != nil ? state.ready[sha256] : nil }
    }

    func manifest(_ sha256: String) -> SignedDriverManifest? { self.state.withLockedValue { $0.manifests[sha256] } }

    /// Why `sha256` failed recently, while its back-off lasts.
    func recentFailure(_ sha256: String) -> String? {
        let now = ContinuousClock.now
        return self.state.withLockedValue { state in
            guard let failure = state.failures[sha256] else { return nil }
            if failure.until <= now {
                state.failures.removeValue(forKey: sha256)
                return nil
            }
            return failure.reason
        }
    }

    var refusal: DriverCacheError? { self.state.withLockedValue { $0.refusal } }

    /// When the latest refresh began, if any did.
    var lastRefreshStart: ContinuousClock.Instant? { self.state.withLockedValue { $0.lastRefreshStart } }
}
