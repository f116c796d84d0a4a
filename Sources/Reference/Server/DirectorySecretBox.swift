import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Encrypts the directory's bind password at rest with AES-256-GCM (DESIGN.md §4).
///
/// The key is 32 random bytes, base64-encoded: from the environment variable
/// `PRINTPLANE_DIRECTORY_KEY` when set (it wins, so the key can live in a secret store and never
/// touch the disk), else from `DATA_DIR/directory.key` (mode 0600), created the first time a
/// password is saved. The database holds only the sealed box and a key ID (the first 8 bytes of
/// the key's SHA-256, which identifies the key without revealing it), so a database copy alone
/// does not reveal the password, and a key mix-up is reported as such rather than as garbage.
public struct DirectorySecretBox: Sendable {
    /// The environment variable that holds the key (base64 of 32 bytes).
    public static let environmentVariable = "PRINTPLANE_DIRECTORY_KEY"
    /// The key file's name in the data directory.
    public static let keyFileName = "directory.key"
    /// Bound into every box as authenticated data, so a box cannot be replayed as another secret.
    static let associatedData = Array("printplane.directory.bind_password.v1".utf8)

    /// Where the key comes from.
    public enum Source: Sendable, Hashable {
        /// Base64 of 32 bytes, e.g. the value of `PRINTPLANE_DIRECTORY_KEY`.
        case base64(String)
        /// A file, created with mode 0600 when first needed.
        case file(String)
    }

    private let source: Source
    private let loaded: LockedKey

    /// Checks a given key at once (a malformed environment variable stops the server with a
    /// clear message); a key file is read or created when first needed.
    public init(source: Source) throws {
        self.source = source
        self.loaded = LockedKey()
        if case .base64(let text) = source {
            self.loaded.set(try Self.decode(text, origin: "\(Self.environmentVariable)"))
        }
    }

    /// The box for a server: the environment variable when set, else the data directory's file.
    public static func forServer(dataDirectory: String, environmentKey: String?) throws -> DirectorySecretBox {
        if let environmentKey, !environmentKey.isEmpty {
            return try DirectorySecretBox(source: .base64(environmentKey))
        }
        return try DirectorySecretBox(source: .file((dataDirectory as NSString).appendingPathComponent(Self.keyFileName)))
    }

    /// A sealed secret and the ID of the key that sealed it.
    public struct Sealed: Sendable, Hashable {
        /// nonce ‖ ciphertext ‖ tag (AES.GCM.SealedBox.combined).
        public var combined: [UInt8]
        public var keyID: String
    }

    /// Encrypts `secret`, creating the key file if this is the first secret.
    public func seal(_ secret: String) throws -> Sealed {
        let key = try self.key(create: true)
        let box = try AES.GCM.seal(Array(secret.utf8), using: key, authenticating: Self.associatedData)
        guard let combined = box.combined else { throw DirectoryError.invalidSettings("AES-GCM produced no combined box") }
        return Sealed(combined: Array(combined), keyID: Self.keyID(key))
    }

    /// Decrypts a sealed secret, or says which key would be needed.
    public func open(_ sealed: Sealed) throws -> String {
        let key: SymmetricKey
        do {
            key = try self.key(create: false)
        } catch {
            throw DirectoryError.keyMismatch("The bind password was encrypted under key \(sealed.keyID), but no key is available: \(error). Restore \(self.origin) or PUT the directory settings again with the password.")
        }
        let keyID = Self.keyID(key)
        guard keyID == sealed.keyID else {
            throw DirectoryError.keyMismatch("The bind password was encrypted under key \(sealed.keyID), but this server's key (\(self.origin)) is \(keyID). Restore that key or PUT the directory settings again with the password.")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.combined)
            let plain = try AES.GCM.open(box, using: key, authenticating: Self.associatedData)
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw DirectoryError.keyMismatch("The stored bind password does not decrypt with key \(keyID) (it was altered): PUT the directory settings again with the password.")
        }
    }

    /// Where the key comes from, for messages.
    public var origin: String {
        switch self.source {
        case .base64: return "the \(Self.environmentVariable) environment variable"
        case .file(let path): return path
        }
    }

    static func keyID(_ key: SymmetricKey) -> String {
        let digest = key.withUnsafeBytes { SHA256.hash(data: Array($0)) }
        return digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    private static func decode(_ text: String, origin: String) throws -> SymmetricKey {
        guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32 else {
            throw ServerError.invalidConfiguration("\(origin) must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)")
        }
        return SymmetricKey(data: raw)
    }

    private func key(create: Bool) throws -> SymmetricKey {
        if let key = self.loaded.get() { return key }
        guard case .file(let path) = self.source else { throw DirectoryError.keyMismatch("no key") }
        return try self.loaded.getOrSet {
            let manager = FileManager.default
            if manager.fileExists(atPath: path) {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                return try Self.decode(text, origin: path)
            }
            guard create else { throw DirectoryError.keyMismatch("\(path) does not exist") }
            let key = SymmetricKey(size: .bits256)
            let text = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
            // Created 0600 from the start (never world-readable, even briefly), and never replaced.
            let descriptor = createExclusively(path)
            guard descriptor >= 0 else {
                if errno == EEXIST { return try Self.decode(String(contentsOfFile: path, encoding: .utf8), origin: path) }
                throw ServerError.invalidConfiguration("cannot create \(path): errno \(errno)")
            }
            let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            try handle.write(contentsOf: Data(text.utf8))
            try handle.synchronize()
            return key
        }
    }
}

/// `open(2)` with O_CREAT | O_EXCL and mode 0600: -1 with errno EEXIST when the file exists.
private func createExclusively(_ path: String) -> Int32 {
    open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
}

/// The loaded key, shared by copies of the box.
private final class LockedKey: @unchecked Sendable {
    private let lock = NSLock()
    private var key: SymmetricKey?

    func get() -> SymmetricKey? { self.lock.withLock { self.key } }
    func set(_ key: SymmetricKey) { self.lock.withLock { self.key = key } }

    func getOrSet(_ make: () throws -> SymmetricKey) throws -> SymmetricKey {
        try self.lock.withLock {
            if let key = self.key { return key }
            let key = try make()
            self.key = key
            return key
        }
    }
}
