import Crypto
import Foundation

/// What a driver package is: the facts the server signs and the agent checks before installing.
public struct DriverManifest: Codable, Sendable, Hashable {
    public var name: String
    public var version: String
    /// Target OS, e.g. `windows`, `macos`, `linux`.
    public var os: String
    /// Lowercase hex SHA-256 of the package bytes; also its download address.
    public var sha256: String
    /// Package size in bytes.
    public var size: Int64

    public init(name: String, version: String, os: String, sha256: String, size: Int64) {
        self.name = name
        self.version = version
        self.os = os
        self.sha256 = sha256
        self.size = size
    }

    /// The exact bytes that are signed: a versioned line format, so any language can rebuild it.
    ///
    /// ```
    /// printplane-driver-manifest-v1
    /// name=<name>
    /// version=<version>
    /// os=<os>
    /// sha256=<64 hex>
    /// size=<decimal>
    /// ```
    public var canonicalBytes: [UInt8] {
        Array("printplane-driver-manifest-v1\nname=\(name)\nversion=\(version)\nos=\(os)\nsha256=\(sha256)\nsize=\(size)\n".utf8)
    }

    /// Problems with the fields, empty when the manifest is well-formed.
    public var validationProblems: [String] {
        var problems = [String]()
        for (field, value) in [("name", name), ("version", version), ("os", os)] {
            if !Self.isSafeField(value) {
                problems.append("\(field) must be 1 to 128 characters of letters, digits, space, '.', '_', '-', '+'")
            }
        }
        if !Self.isSHA256Hex(sha256) { problems.append("sha256 must be 64 lowercase hex characters") }
        if size < 0 { problems.append("size must not be negative") }
        return problems
    }

    /// Whether `text` is a lowercase hex SHA-256 (and so safe as a file name).
    public static func isSHA256Hex(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// Whether a name/version/OS field is safe to show, sign and store: no separators, no control characters.
    public static func isSafeField(_ text: some StringProtocol) -> Bool {
        guard (1...128).contains(text.utf8.count), text.first != " ", text.last != " " else { return false }
        return text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: " "), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "+"):
                return true
            default:
                return false
            }
        } && !text.contains("..")
    }
}

/// A manifest with its Ed25519 signature (RFC 8032) by the server's driver-signing key.
public struct SignedDriverManifest: Codable, Sendable, Hashable {
    public var manifest: DriverManifest
    /// Base64 of the 64-byte Ed25519 signature over ``DriverManifest/canonicalBytes``.
    public var signature: String

    public init(manifest: DriverManifest, signature: String) {
        self.manifest = manifest
        self.signature = signature
    }

    /// Signs `manifest` with the driver key.
    public init(signing manifest: DriverManifest, with key: Curve25519.Signing.PrivateKey) throws {
        let signature = try key.signature(for: manifest.canonicalBytes)
        self.init(manifest: manifest, signature: Data(signature).base64EncodedString())
    }

    /// Whether the signature is the driver key's over exactly this manifest.
    public func hasValidSignature(from key: Curve25519.Signing.PublicKey) -> Bool {
        guard let signature = Data(base64Encoded: self.signature), signature.count == 64 else { return false }
        return key.isValidSignature(signature, for: self.manifest.canonicalBytes)
    }

    /// Checks the signature, then that `contents` are the package it describes.
    ///
    /// The agent calls this on every package before installing it, wherever it came from
    /// (the cloud or a LAN cache), so a tampered blob or a forged manifest never installs.
    public func verify(contents: some DataProtocol, publicKey: Curve25519.Signing.PublicKey) throws(DriverVerificationError) {
        try self.verify(digest: SHA256.hash(data: contents).hexString, size: Int64(contents.count), publicKey: publicKey)
    }

    /// Like ``verify(contents:publicKey:)`` for a package hashed while streaming.
    public func verify(digest: String, size: Int64, publicKey: Curve25519.Signing.PublicKey) throws(DriverVerificationError) {
        guard self.hasValidSignature(from: publicKey) else { throw .badSignature }
        guard size == self.manifest.size else { throw .sizeMismatch }
        guard SecretToken.constantTimeEquals(Array(digest.utf8), Array(self.manifest.sha256.utf8)) else { throw .digestMismatch }
    }
}

/// Why a driver package failed verification.
public struct DriverVerificationError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable { case badSignature, digestMismatch, sizeMismatch }
    private let code: Code

    /// The manifest's signature is not the driver key's.
    public static let badSignature = Self(code: .badSignature)
    /// The bytes hash to something other than the manifest's sha256.
    public static let digestMismatch = Self(code: .digestMismatch)
    /// The byte count differs from the manifest's size.
    public static let sizeMismatch = Self(code: .sizeMismatch)

    public var description: String {
        switch code {
        case .badSignature: return "driver manifest signature is not valid for the server's driver key"
        case .digestMismatch: return "driver package does not match its manifest's sha256"
        case .sizeMismatch: return "driver package size does not match its manifest"
        }
    }
}

extension Curve25519.Signing.PublicKey {
    /// The key as sent to agents: base64 of the 32 raw bytes.
    public var base64: String { self.rawRepresentation.base64EncodedString() }

    /// Parses ``base64``.
    public init?(base64: String) {
        guard let raw = Data(base64Encoded: base64), let key = try? Self(rawRepresentation: raw) else { return nil }
        self = key
    }
}
