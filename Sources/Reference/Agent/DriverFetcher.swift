import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PrintplaneCore

/// Gets a driver into the store, verified (DESIGN.md §3):
/// 1. the store already has the digest (re-measured by the store) → done;
/// 2. otherwise each source in order (LAN cache first, then cloud), resuming with
///    `Range` after a cut and waiting out `503 Retry-After`;
/// 3. the SHA-256 and size are checked against the manifest, and the manifest's Ed25519
///    signature against the server's key, whatever the source;
/// 4. only then is the file installed, atomically. A failed check discards the bytes
///    and moves on to the next source; nothing unverified is ever installed.
///
/// A source that is not the last (a LAN cache) gets less patience than the cloud, because
/// falling back costs only WAN bytes while waiting on a broken cache costs the install:
/// an attempt that moves no byte (refused, reset, TLS, stalled until the read timeout), an
/// unexpected status, a package of the wrong size, a transfer slower than
/// ``minimumFallbackRate`` or more than ``busyAttemptsBeforeFallback`` `503`s move on at
/// once, and the bytes it sent are discarded, so they are never completed by another source.
struct DriverFetcher: Sendable {
    var http: any AgentHTTPTransport
    var store: any DriverStore
    var clock: any AgentClock
    var observer: any AgentObserver
    var logger: Logger
    var identity: AgentIdentity
    var publicKey: Curve25519.Signing.PublicKey
    /// Attempts per source after cuts or `Retry-After`.
    var attemptsPerSource = 8
    /// The longest `Retry-After` honoured inside one download.
    var maximumRetryAfter = 120
    /// `503`/`429` answers waited out on a source that is not the last before the next is tried.
    var busyAttemptsBeforeFallback = 4
    /// The longest `Retry-After` honoured from a source that is not the last.
    var maximumFallbackRetryAfter = 15
    /// Bytes per second a source that is not the last must average once ``slowSourceGrace``
    /// has passed in an attempt; a trickling LAN cache must not hold the install hostage.
    var minimumFallbackRate: Int64 = 32 * 1024
    var slowSourceGrace: Duration = .seconds(10)

    /// The verified, installed driver and how many bytes were downloaded for it.
    func ensure(_ driver: PlannedDriver) async throws -> (StoredDriver, Int64) {
        let manifest = driver.manifest
        guard manifest.hasValidSignature(from: self.publicKey) else {
            throw AgentError.driverUnavailable("driver \(manifest.manifest.name) \(manifest.manifest.version): the manifest's signature does not verify against the server's driver-signing key; refusing it from every source")
        }
        let sha256 = manifest.manifest.sha256
        if let stored = try await self.store.driver(sha256: sha256) {
            try manifest.verify(digest: stored.sha256, size: stored.size, publicKey: self.publicKey)
            return (stored, 0)
        }
        guard !driver.sources.isEmpty else { throw AgentError.driverUnavailable("driver \(sha256.prefix(12)) has no sources") }
        var problems = [String]()
        var downloaded: Int64 = 0
        for (index, source) in driver.sources.enumerated() {
            let url = self.resolve(source)
            let isLast = index == driver.sources.count - 1
            let partial = try await self.store.partial(sha256: sha256)
            let start = ContinuousClock.now
            do {
                downloaded += try await self.download(url: url, into: partial, size: manifest.manifest.size, isLast: isLast)
                let digest = try await partial.digest()
                try manifest.verify(digest: digest, size: await partial.receivedBytes, publicKey: self.publicKey)
                let stored = try await partial.commit()
                self.observer.driverDownload(sha256: sha256, source: url, bytes: stored.size, duration: ContinuousClock.now - start, error: nil)
                return (stored, downloaded)
            } catch let error as DriverVerificationError {
                await partial.discard()
                self.observer.driverDownload(sha256: sha256, source: url, bytes: 0, duration: ContinuousClock.now - start, error: "verification: \(error)")
                self.logger.warning("driver failed verification; discarded, trying the next source", metadata: ["printplane.driver.sha256": "\(sha256)", "printplane.driver.source": "\(url)", "printplane.error": "\(error)"])
                problems.append("\(url): \(error)")
            } catch let error as CancellationError {
                throw error
            } catch {
                // Bytes from a source that failed are never completed by another: the next
                // source starts afresh. The last source's stay, for the next check-in to resume.
                if !isLast { await partial.discard() }
                self.observer.driverDownload(sha256: sha256, source: url, bytes: 0, duration: ContinuousClock.now - start, error: "\(error)")
                self.logger.warning("driver source failed, trying the next", metadata: ["printplane.driver.sha256": "\(sha256)", "printplane.driver.source": "\(url)", "printplane.error": "\(error)"])
                problems.append("\(url): \(error)")
            }
        }
        throw AgentError.driverUnavailable("driver \(manifest.manifest.name) \(manifest.manifest.version) (\(sha256.prefix(12))…) could not be fetched and verified from any source: " + problems.joined(separator: "; "))
    }

    /// A relative source is on the cloud server; absolute ones (a LAN cache) are used as given.
    func resolve(_ source: String) -> String {
        source.hasPrefix("/") ? self.identity.serverURL + source : source
    }

    /// The device credential goes only to the cloud server, never to a LAN cache.
    func headers(for url: String) -> [(String, String)] {
        url.hasPrefix(self.identity.serverURL + "/") ? [("Authorization", "Bearer \(self.identity.deviceCredential)")] : []
    }

    /// Downloads until `partial` holds `size` bytes; returns the bytes moved. `isLast` is
    /// false for a source with another behind it, which gets less patience (see the type).
    private func download(url: String, into partial: any DriverPartial, size: Int64, isLast: Bool) async throws -> Int64 {
        var moved: Int64 = 0
        var lastProblem = "no attempt"
        var busy = 0
        for _ in 0..<self.attemptsPerSource {
            let have = await partial.receivedBytes
            if have == size { return moved }
            if have > size { try await partial.reset() }
            var headers = self.headers(for: url)
            let offset = await partial.receivedBytes
            if offset > 0 { headers.append(("Range", "bytes=\(offset)-")) }
            let sink = PartialSink(
                partial: partial, offset: offset, size: size,
                pace: isLast ? nil : .init(minimumRate: self.minimumFallbackRate, grace: self.slowSourceGrace))
            let head: AgentHTTPHead
            do {
                head = try await self.http.download(AgentHTTPRequest(method: .get, url: url, headers: headers), into: sink)
            } catch let error as DriverDownloadError {
                throw error
            } catch {
                // A cut: what arrived stays in the partial file; resume with Range. An attempt
                // that moved nothing from a source with another behind it moves on instead.
                let progress = await partial.receivedBytes - offset
                moved += progress
                lastProblem = "transfer cut: \(error)"
                if !isLast, progress <= 0 { throw DriverDownloadError("no bytes from this source (\(error))") }
                try await self.clock.sleep(for: .milliseconds(Int64.random(in: 100...1000)))
                continue
            }
            moved += await partial.receivedBytes - offset
            switch head.status {
            case 200, 206:
                continue
            case 416:
                try await partial.reset()
                lastProblem = "range not satisfiable"
            case 429, 503:
                busy += 1
                let asked = head.header("Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 5
                let seconds = min(isLast ? self.maximumRetryAfter : self.maximumFallbackRetryAfter, asked)
                if !isLast, busy > self.busyAttemptsBeforeFallback {
                    throw DriverDownloadError("still busy after \(self.busyAttemptsBeforeFallback) Retry-After waits (HTTP \(head.status))")
                }
                self.observer.retryAfter(seconds: seconds, route: "driver")
                lastProblem = "busy (HTTP \(head.status), Retry-After \(seconds)s)"
                try await self.clock.sleep(for: .milliseconds(Int64(Double(max(1, seconds)) * (1 + Double.random(in: 0..<1)) * 1000)))
            default:
                throw DriverDownloadError("HTTP \(head.status)")
            }
        }
        if await partial.receivedBytes == size { return moved }
        throw DriverDownloadError("gave up after \(self.attemptsPerSource) attempts: \(lastProblem)")
    }
}

/// A source answered in a way that retrying will not fix.
struct DriverDownloadError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Feeds a download into a partial, checking the answer fits what was asked: a 206 must
/// start where the partial ends, a 200 restarts it, a package whose announced total differs
/// from the manifest's size is refused before a byte is read, and more bytes than the
/// manifest's size are refused (a tampered or runaway source cannot fill the disk). With a
/// ``Pace``, a transfer averaging less than its rate after its grace period is abandoned.
private struct PartialSink: AgentDownloadSink {
    struct Pace: Sendable {
        var minimumRate: Int64
        var grace: Duration
    }

    let partial: any DriverPartial
    let offset: Int64
    let size: Int64
    let pace: Pace?
    private let started = ContinuousClock.now
    private let received = NIOLockedValueBox<Int64>(0)

    init(partial: any DriverPartial, offset: Int64, size: Int64, pace: Pace?) {
        self.partial = partial
        self.offset = offset
        self.size = size
        self.pace = pace
    }

    func accept(_ head: AgentHTTPHead) async throws -> Bool {
        switch head.status {
        case 200:
            if let length = head.header("Content-Length").flatMap({ Int64($0.trimmingCharacters(in: .whitespaces)) }), length != self.size {
                throw DriverDownloadError("the source's package is \(length) bytes; the manifest says \(self.size)")
            }
            if self.offset > 0 { try await self.partial.reset() }
            return true
        case 206:
            guard let range = head.header("Content-Range"), range.hasPrefix("bytes \(self.offset)-") else {
                throw DriverDownloadError("the source answered a different range (\(head.header("Content-Range") ?? "none")) than bytes=\(self.offset)-")
            }
            if let total = range.split(separator: "/").last.flatMap({ Int64($0) }), total != self.size {
                throw DriverDownloadError("the source's package is \(total) bytes; the manifest says \(self.size)")
            }
            return true
        default:
            return false
        }
    }

    func write(_ chunk: ByteBuffer) async throws {
        guard await self.partial.receivedBytes + Int64(chunk.readableBytes) <= self.size else {
            await self.partial.discard()
            throw DriverDownloadError("the source sent more than the manifest's \(self.size) bytes")
        }
        try await self.partial.append(chunk)
        guard let pace else { return }
        let total = self.received.withLockedValue { count -> Int64 in
            count += Int64(chunk.readableBytes)
            return count
        }
        let elapsed = ContinuousClock.now - self.started
        guard elapsed > pace.grace else { return }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(total) / seconds
        if rate < Double(pace.minimumRate) {
            throw DriverDownloadError(String(format: "the source is too slow (%.0f B/s on average, below %d B/s)", rate, pace.minimumRate))
        }
    }
}
