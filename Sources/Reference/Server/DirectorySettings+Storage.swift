import Foundation
import PrintplaneCore

extension DirectorySettings {
    /// The row to store: the password sealed with `secrets`, everything else as text.
    func sealed(with secrets: DirectorySecretBox, at now: Date) throws -> StoredDirectorySettings {
        let box = try secrets.seal(self.bindPassword)
        return StoredDirectorySettings(
            url: self.url.description, startTLS: self.startTLS, caPEM: self.caPEM, baseDN: self.baseDN.description, bindDN: self.bindDN,
            sealedBindPassword: box.combined, keyID: box.keyID, flavour: self.flavour.rawValue, cacheTTLSeconds: self.cacheTTLSeconds,
            adminGroupDN: self.adminGroupDN?.description, updatedAt: now)
    }

    /// The settings from a stored row, decrypting the password with `secrets`.
    init(stored: StoredDirectorySettings, secrets: DirectorySecretBox) throws {
        let password = try secrets.open(.init(combined: stored.sealedBindPassword, keyID: stored.keyID))
        try self.init(stored: stored, password: password)
    }

    /// The settings from a stored row and a password in clear (the stored one is not opened).
    init(stored: StoredDirectorySettings, password: String) throws {
        let baseDN: DistinguishedName
        do {
            baseDN = try DistinguishedName(stored.baseDN)
        } catch {
            throw DirectoryError.invalidSettings("the stored base_dn does not parse: \(error)")
        }
        let adminGroup: DistinguishedName?
        do {
            adminGroup = try stored.adminGroupDN.map { try DistinguishedName($0) }
        } catch {
            throw DirectoryError.invalidSettings("the stored admin_group_dn does not parse: \(error)")
        }
        self.init(
            url: try DirectoryURL(parsing: stored.url), startTLS: stored.startTLS, caPEM: stored.caPEM, baseDN: baseDN, bindDN: stored.bindDN,
            bindPassword: password, flavour: DirectoryFlavour(rawValue: stored.flavour) ?? .auto, cacheTTLSeconds: stored.cacheTTLSeconds,
            adminGroupDN: adminGroup)
    }
}
