import Foundation
import HTTPTypes
import Hummingbird
import PrintplaneCore

/// The directory half of the admin API (`/api/v1/admin/directory...`): the settings (audited
/// like every admin mutation), a test of them, and the lookup and search an admin uses to
/// choose group and OU targets and to see why a workstation gets what it gets.
///
/// The bind password is accepted on PUT and test, sealed before it reaches the store, and never
/// returned, logged or audited; answers say only `bind_password_set`.
struct DirectoryAPI: Sendable {
    let configuration: ServerConfiguration
    let identity: ServerIdentity
    let store: any Store
    let directory: DirectoryService

    func register(on table: RouteTable) {
        table.add(.get, "/api/v1/admin/directory") { r, c in try await self.show(r, c) }
        table.add(.put, "/api/v1/admin/directory") { r, c in try await self.save(r, c) }
        table.add(.delete, "/api/v1/admin/directory") { r, c in try await self.remove(r, c) }
        table.add(.post, "/api/v1/admin/directory/test") { r, c in try await self.test(r, c) }
        table.add(.get, "/api/v1/admin/directory/lookup") { r, c in try await self.lookup(r, c) }
        table.add(.get, "/api/v1/admin/directory/search") { r, c in try await self.search(r, c) }
    }

    /// What the admin sends: PUT replaces every setting; `bind_password` may be left out to
    /// keep the stored one.
    struct SettingsBody: Decodable {
        var url: String?
        var startTLS: Bool?
        var caPEM: String?
        var baseDN: String?
        var bindDN: String?
        var bindPassword: String?
        var flavour: DirectoryFlavour?
        var cacheTTLSeconds: Int?
        var adminGroupDN: String?

        enum CodingKeys: String, CodingKey {
            case url, flavour
            case startTLS = "start_tls"
            case caPEM = "ca_pem"
            case baseDN = "base_dn"
            case bindDN = "bind_dn"
            case bindPassword = "bind_password"
            case cacheTTLSeconds = "cache_ttl_seconds"
            case adminGroupDN = "admin_group_dn"
        }
    }

    /// The settings as shown: never the password.
    struct SettingsView: Encodable {
        var url: String
        var startTLS: Bool
        var caPEM: String?
        var baseDN: String
        var bindDN: String
        var bindPasswordSet: Bool
        var flavour: String
        var cacheTTLSeconds: Int
        var adminGroupDN: String?
        var revision: Int64
        var updatedAt: Date
        var warnings: [String]
        var status: DirectoryService.Status

        enum CodingKeys: String, CodingKey {
            case url, flavour, revision, warnings, status
            case startTLS = "start_tls"
            case caPEM = "ca_pem"
            case baseDN = "base_dn"
            case bindDN = "bind_dn"
            case bindPasswordSet = "bind_password_set"
            case cacheTTLSeconds = "cache_ttl_seconds"
            case adminGroupDN = "admin_group_dn"
            case updatedAt = "updated_at"
        }

        init(_ stored: StoredDirectorySettings, status: DirectoryService.Status) {
            self.url = stored.url
            self.startTLS = stored.startTLS
            self.caPEM = stored.caPEM
            self.baseDN = stored.baseDN
            self.bindDN = stored.bindDN
            self.bindPasswordSet = !stored.sealedBindPassword.isEmpty
            self.flavour = stored.flavour
            self.cacheTTLSeconds = stored.cacheTTLSeconds
            self.adminGroupDN = stored.adminGroupDN
            self.revision = stored.revision
            self.updatedAt = stored.updatedAt
            let encrypted = stored.url.lowercased().hasPrefix("ldaps://") || stored.startTLS
            self.warnings = encrypted ? [] : ["the service account's password and every lookup cross the network in clear: use ldaps:// or start_tls"]
            self.status = status
        }
    }

    private func authorize(_ request: Request, _ context: ServerRequestContext) throws -> String {
        try AdminAPI.authorize(request, context, identity: self.identity)
    }

    /// A directory failure as the admin API answers it.
    static func edge(_ error: any Error) -> any Error {
        guard let error = error as? DirectoryError else { return error }
        if error == .notConfigured { return ServerError.directoryNotConfigured }
        if error.isUnavailability { return ServerError.directoryUnavailable(retryAfter: 5, detail: error.message) }
        return ServerError.invalidField(error.message)
    }

    /// Builds settings from a body; a missing password falls back to the stored one.
    func settings(from body: SettingsBody, stored: StoredDirectorySettings?) throws -> (settings: DirectorySettings, passwordChanged: Bool) {
        guard let urlText = body.url else { throw ServerError.invalidField("url is required, e.g. ldaps://dc01.corp.example.com:636") }
        let url: DirectoryURL
        do {
            url = try DirectoryURL(parsing: urlText.trimmingCharacters(in: .whitespaces))
        } catch let error as DirectoryError {
            throw ServerError.invalidField(error.message)
        }
        guard let baseText = body.baseDN?.trimmingCharacters(in: .whitespaces), !baseText.isEmpty else {
            throw ServerError.invalidField("base_dn is required, e.g. DC=corp,DC=example,DC=com")
        }
        let baseDN = try Self.dn(baseText, field: "base_dn", example: "DC=corp,DC=example,DC=com")
        guard let bindDN = body.bindDN?.trimmingCharacters(in: .whitespaces), !bindDN.isEmpty else {
            throw ServerError.invalidField("bind_dn is required: the service account's DN, or on AD CORP\\\\svc-printplane or svc-printplane@corp.example.com")
        }
        let adminGroup = try body.adminGroupDN.flatMap { text -> DistinguishedName? in
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : try Self.dn(trimmed, field: "admin_group_dn", example: "CN=Printplane Admins,OU=Groups,DC=corp,DC=example,DC=com")
        }
        let password: String
        let changed: Bool
        if let given = body.bindPassword {
            password = given
            changed = true
        } else if let stored {
            do {
                password = try self.directory.secrets.open(.init(combined: stored.sealedBindPassword, keyID: stored.keyID))
            } catch {
                throw ServerError.invalidField("bind_password is required: the stored one cannot be decrypted (\((error as? DirectoryError)?.message ?? "\(error)"))")
            }
            changed = false
        } else {
            throw ServerError.invalidField("bind_password is required when no directory is configured yet")
        }
        let caPEM = body.caPEM.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        let settings = DirectorySettings(
            url: url, startTLS: body.startTLS ?? false, caPEM: caPEM, baseDN: baseDN.tidied, bindDN: bindDN, bindPassword: password,
            flavour: body.flavour ?? .auto, cacheTTLSeconds: body.cacheTTLSeconds ?? DirectorySettings.defaultCacheTTLSeconds, adminGroupDN: adminGroup?.tidied)
        let problems = settings.validationProblems
        guard problems.isEmpty else { throw ServerError.invalidField(problems.joined(separator: "; ")) }
        return (settings, changed)
    }

    private static func dn(_ text: String, field: String, example: String) throws -> DistinguishedName {
        do {
            let dn = try DistinguishedName(text)
            if let problem = dn.validationProblem { throw ServerError.invalidField("\(field) must be a DN such as \(example): \(problem)") }
            return dn
        } catch let error as DistinguishedNameError {
            throw ServerError.invalidField("\(field) must be a DN such as \(example): \(error.message)")
        }
    }

    // MARK: Handlers

    func show(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        let (stored, generation) = try await self.store.directorySettings()
        await self.directory.synchronize(with: stored, generation: generation)
        guard let stored else { throw ServerError.notFound("directory configuration") }
        return try HTTPBody.response(SettingsView(stored, status: self.directory.status))
    }

    func save(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let body = try await HTTPBody.decode(SettingsBody.self, from: request, limit: self.configuration.maxJSONBodyBytes)
        let stored = try await self.store.directorySettings().settings
        let (settings, passwordChanged) = try self.settings(from: body, stored: stored)
        let sealed = try settings.sealed(with: self.directory.secrets, at: self.configuration.clock())
        let detail = [
            "url=\(settings.url)", "start_tls=\(settings.startTLS)", "ca=\(settings.caPEM == nil ? "system" : "given")",
            "base_dn=\(settings.baseDN)", "bind_dn=\(settings.bindDN)", "password=\(passwordChanged ? "changed" : "kept")",
            "flavour=\(settings.flavour.rawValue)", "cache_ttl_seconds=\(settings.cacheTTLSeconds)", "admin_group_dn=\(settings.adminGroupDN?.description ?? "-")",
        ].joined(separator: " ")
        let saved = try await self.store.saveDirectorySettings(
            sealed, audit: AuditEntry(at: self.configuration.clock(), actor: actor, action: stored == nil ? "directory.create" : "directory.update", target: settings.url.description, detail: detail))
        await self.directory.synchronize(with: saved, generation: saved.revision)
        context.logger.notice("directory settings saved", metadata: ["printplane.directory.url": "\(settings.url)", "printplane.directory.revision": "\(saved.revision)"])
        return try HTTPBody.response(SettingsView(saved, status: self.directory.status))
    }

    func remove(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let actor = try self.authorize(request, context)
        let audit = AuditEntry(at: self.configuration.clock(), actor: actor, action: "directory.delete", target: "directory")
        guard let generation = try await self.store.deleteDirectorySettings(audit: audit) else { throw ServerError.notFound("directory configuration") }
        await self.directory.synchronize(with: nil, generation: generation)
        return Response(status: .noContent)
    }

    func test(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        let stored = try await self.store.directorySettings().settings
        let settings: DirectorySettings
        if request.headers[.contentType] != nil {
            let body = try await HTTPBody.decode(SettingsBody.self, from: request, limit: self.configuration.maxJSONBodyBytes)
            settings = try self.settings(from: body, stored: stored).settings
        } else {
            guard let stored else { throw ServerError.directoryNotConfigured }
            do {
                settings = try DirectorySettings(stored: stored, secrets: self.directory.secrets)
            } catch {
                throw Self.edge(error)
            }
        }
        return try HTTPBody.response(await self.directory.test(settings))
    }

    func lookup(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        let query = request.uri.queryParameters
        let user = query["user"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let computer = query["computer"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        guard user != nil || computer != nil else { throw ServerError.invalidField("give user, computer or both, e.g. ?user=alice&computer=WS-001") }
        for (name, value) in [("user", user), ("computer", computer)] where (value?.utf8.count ?? 0) > 256 {
            throw ServerError.invalidField("\(name) must be at most 256 bytes")
        }
        do {
            return try HTTPBody.response(try await self.directory.lookup(user: user, computer: computer))
        } catch {
            throw Self.edge(error)
        }
    }

    func search(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        _ = try self.authorize(request, context)
        let query = request.uri.queryParameters
        guard let kind = query["kind"].flatMap({ DirectorySearchKind(rawValue: String($0)) }) else {
            throw ServerError.invalidField("kind must be group or ou")
        }
        let text = query["q"].map(String.init) ?? ""
        guard text.utf8.count <= 128 else { throw ServerError.invalidField("q must be at most 128 bytes") }
        let limit = try query["limit"].map { value -> Int in
            guard let number = Int(value), (1...500).contains(number) else { throw ServerError.invalidField("limit must be between 1 and 500") }
            return number
        } ?? 50
        let offset = try query["offset"].map { value -> Int in
            guard let number = Int(value), (0...10_000).contains(number) else { throw ServerError.invalidField("offset must be between 0 and 10000") }
            return number
        } ?? 0
        do {
            return try HTTPBody.response(try await self.directory.search(kind, text: text, limit: limit, offset: offset))
        } catch {
            throw Self.edge(error)
        }
    }
}
