import Crypto
import Foundation
import Testing

@testable import PrintplaneCore

@Suite("Driver manifests")
struct DriverManifestTests {
    let key = Curve25519.Signing.PrivateKey()
    let contents = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })

    func signed() throws -> SignedDriverManifest {
        let manifest = DriverManifest(name: "HP Universal", version: "7.1.0", os: "windows", sha256: SHA256.hash(data: contents).hexString, size: Int64(contents.count))
        return try SignedDriverManifest(signing: manifest, with: key)
    }

    @Test("a signed manifest verifies against its contents and key")
    func verifies() throws {
        try signed().verify(contents: contents, publicKey: key.publicKey)
    }

    @Test("tampered contents, a forged field or another key are each detected")
    func detectsTampering() throws {
        let manifest = try signed()
        var tampered = contents
        tampered[17] ^= 0x01
        #expect(throws: DriverVerificationError.digestMismatch) { try manifest.verify(contents: tampered, publicKey: key.publicKey) }
        #expect(throws: DriverVerificationError.sizeMismatch) { try manifest.verify(contents: contents.dropLast(), publicKey: key.publicKey) }
        var forged = manifest
        forged.manifest.version = "7.1.1"
        #expect(throws: DriverVerificationError.badSignature) { try forged.verify(contents: contents, publicKey: key.publicKey) }
        #expect(throws: DriverVerificationError.badSignature) { try manifest.verify(contents: contents, publicKey: Curve25519.Signing.PrivateKey().publicKey) }
        var garbage = manifest
        garbage.signature = "not base64!"
        #expect(throws: DriverVerificationError.badSignature) { try garbage.verify(contents: contents, publicKey: key.publicKey) }
    }

    @Test("names that could escape a directory or break the signed format are refused", arguments: ["../../etc/passwd", "a/b", "..", "x\ny", "", " lead", String(repeating: "a", count: 129), "a\u{0}b"])
    func unsafeFields(name: String) {
        #expect(!DriverManifest.isSafeField(name))
    }

    @Test("ordinary names are accepted", arguments: ["HP Universal", "7.1.0", "windows", "x86_64-v2+pcl6"])
    func safeFields(name: String) {
        #expect(DriverManifest.isSafeField(name))
    }

    @Test("the public key travels as base64 and back")
    func publicKeyBase64() throws {
        let decoded = try #require(Curve25519.Signing.PublicKey(base64: key.publicKey.base64))
        #expect(decoded.rawRepresentation == key.publicKey.rawRepresentation)
        #expect(Curve25519.Signing.PublicKey(base64: "AAAA") == nil)
    }
}
