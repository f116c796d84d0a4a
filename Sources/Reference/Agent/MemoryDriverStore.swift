import Crypto
import NIOConcurrencyHelpers
import NIOCore

/// A driver store that keeps digests and sizes but not bytes: what a virtual agent in
/// the simulator uses, so 10,000 agents can "install" a 20 MB driver without holding
/// 200 GB. Bytes are still hashed as they arrive, so verification is real.
public final class MemoryDriverStore: DriverStore {
    private let drivers = NIOLockedValueBox([String: Int64]())

    public init() {}

    public func driver(sha256: String) async throws -> StoredDriver? {
        self.drivers.withLockedValue { $0[sha256] }.map { StoredDriver(sha256: sha256, size: $0, path: nil) }
    }

    public func partial(sha256: String) async throws -> any DriverPartial {
        MemoryDriverPartial(sha256: sha256, store: self)
    }

    public func installed() async throws -> [StoredDriver] {
        self.drivers.withLockedValue { $0 }.sorted { $0.key < $1.key }.map { StoredDriver(sha256: $0.key, size: $0.value, path: nil) }
    }

    fileprivate func install(sha256: String, size: Int64) {
        self.drivers.withLockedValue { $0[sha256] = size }
    }
}

private final class MemoryDriverPartial: DriverPartial {
    private struct State {
        var hasher = SHA256()
        var size: Int64 = 0
    }
    private let state = NIOLockedValueBox(State())
    private let sha256: String
    private let store: MemoryDriverStore

    init(sha256: String, store: MemoryDriverStore) {
        self.sha256 = sha256
        self.store = store
    }

    var receivedBytes: Int64 { self.state.withLockedValue { $0.size } }

    func append(_ chunk: ByteBuffer) async throws {
        self.state.withLockedValue { state in
            chunk.withUnsafeReadableBytes { state.hasher.update(bufferPointer: $0) }
            state.size += Int64(chunk.readableBytes)
        }
    }

    func reset() async throws { self.state.withLockedValue { $0 = State() } }

    func digest() async throws -> String { self.state.withLockedValue { $0.hasher.finalize() }.hexString }

    func commit() async throws -> StoredDriver {
        let size = self.state.withLockedValue { $0.size }
        self.store.install(sha256: self.sha256, size: size)
        return StoredDriver(sha256: self.sha256, size: size, path: nil)
    }

    func discard() async { self.state.withLockedValue { $0 = State() } }
}
