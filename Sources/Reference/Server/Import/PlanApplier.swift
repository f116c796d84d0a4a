import Foundation
import PrintplaneCore

/// Carries out an ``ImportPlan`` through the admin API, like an admin would: uploads each
/// PPD as a signed driver, creates the profiles and printers, and assigns the new printers.
///
/// Running it again changes nothing: a printer whose name exists is left as it is (and not
/// assigned again), a PPD already uploaded (same SHA-256) is reused, and a profile with the
/// same settings is reused. Every call is audited by the server like any admin action.
public struct PlanApplier: Sendable {
    /// What happened to one queue.
    public struct Outcome: Sendable, Hashable {
        public enum Action: String, Sendable, Hashable {
            case created
            /// A printer of that name exists already; nothing was changed.
            case exists
            case skipped
            case failed
        }

        public var queue: String
        public var action: Action
        /// The printer's Printplane name, and for `skipped`/`failed` the reason.
        public var detail: String
        public var notes: [String]
    }

    /// The whole run.
    public struct Report: Sendable, Hashable {
        public var outcomes: [Outcome]
        public var driversUploaded: Int
        public var driversReused: Int
        public var profilesCreated: Int
        public var assignmentsCreated: Int
        public var dryRun: Bool

        public var failed: Bool { self.outcomes.contains { $0.action == .failed } }
    }

    let client: AdminClient

    public init(client: AdminClient) {
        self.client = client
    }

    /// Applies `plan`, assigning each new printer (with its profile) to every target in
    /// `assign`. With `dryRun`, reads what exists and reports what would be done, writing nothing.
    public func apply(_ plan: ImportPlan, assign: [AssignmentTarget], dryRun: Bool) async throws -> Report {
        var report = Report(outcomes: [], driversUploaded: 0, driversReused: 0, profilesCreated: 0, assignmentsCreated: 0, dryRun: dryRun)
        let existingPrinters = Set(try await self.client.listPrinters().map { $0.name.lowercased() })
        var driverIDs: [String: DriverID] = [:]
        for driver in try await self.client.listDrivers() { driverIDs[driver.manifest.manifest.sha256] = driverIDs[driver.manifest.manifest.sha256] ?? driver.id }
        var profiles = try await self.client.listProfiles()

        for skipped in plan.skipped {
            report.outcomes.append(Outcome(queue: skipped.queue, action: .skipped, detail: skipped.reason, notes: []))
        }
        let needed = Set(plan.printers.filter { !existingPrinters.contains($0.name.lowercased()) }.compactMap(\.driverSHA256))
        for driver in plan.drivers where needed.contains(driver.sha256) {
            if driverIDs[driver.sha256] != nil {
                report.driversReused += 1
                continue
            }
            report.driversUploaded += 1
            if dryRun { continue }
            let record = try await self.client.uploadDriver(name: driver.name, version: driver.version, os: driver.os, contents: driver.contents)
            guard record.manifest.manifest.sha256 == driver.sha256 else {
                throw CUPSClient.Failure(description: "the server stored \(driver.name) as \(record.manifest.manifest.sha256), not \(driver.sha256)")
            }
            driverIDs[driver.sha256] = record.id
        }

        for printer in plan.printers {
            if existingPrinters.contains(printer.name.lowercased()) {
                report.outcomes.append(Outcome(queue: printer.queue, action: .exists, detail: printer.name, notes: ["a printer named \(printer.name) exists; left unchanged"]))
                continue
            }
            let profileID: ProfileID?
            if let existing = profiles.first(where: { $0.profile == printer.profile }) {
                profileID = existing.id
            } else {
                report.profilesCreated += 1
                let name = Self.profileName(printer.profile, taken: Set(profiles.map(\.name)))
                if dryRun {
                    profileID = nil
                    profiles.append(ProfileRecord(id: ProfileID("dry-run-\(profiles.count)"), name: name, profile: printer.profile))
                } else {
                    let created = try await self.client.createProfile(name: name, profile: printer.profile)
                    profiles.append(created)
                    profileID = created.id
                }
            }
            if dryRun {
                report.assignmentsCreated += assign.count
                report.outcomes.append(Outcome(queue: printer.queue, action: .created, detail: Self.describe(printer), notes: printer.notes))
                continue
            }
            do {
                let created = try await self.client.createPrinter(
                    name: printer.name, address: printer.address, protocol: printer.protocol, port: printer.port, queue: printer.lprQueue,
                    location: printer.location, site: printer.site, driverID: printer.driverSHA256.flatMap { driverIDs[$0] })
                for target in assign {
                    _ = try await self.client.createAssignment(printerID: created.id, profileID: profileID, target: target)
                    report.assignmentsCreated += 1
                }
                report.outcomes.append(Outcome(queue: printer.queue, action: .created, detail: Self.describe(printer), notes: printer.notes))
            } catch let failure as AdminClient.Failure {
                report.outcomes.append(Outcome(queue: printer.queue, action: .failed, detail: failure.description, notes: printer.notes))
            }
        }
        report.outcomes.sort { $0.queue < $1.queue }
        return report
    }

    static func describe(_ printer: ImportPlan.Printer) -> String {
        let target = printer.protocol == .raw ? "raw \(printer.address):\(printer.port)" : "lpr \(printer.address):\(printer.port) queue \(printer.lprQueue ?? "lp")"
        let profile = printer.profile
        let duplex = ["simplex": "one-sided", "long_edge": "duplex long edge", "short_edge": "duplex short edge"][profile.duplex.rawValue] ?? profile.duplex.rawValue
        return "\(printer.name) → \(target), \(duplex), \(profile.color ? "colour" : "greyscale"), \(profile.paper)\(printer.driverSHA256 == nil ? ", no driver" : ", PPD driver")"
    }

    /// A readable profile name that no other profile has, e.g. `Duplex long edge mono Letter`.
    static func profileName(_ profile: PrintProfile, taken: Set<String>) -> String {
        let duplex = ["simplex": "Simplex", "long_edge": "Duplex long edge", "short_edge": "Duplex short edge"][profile.duplex.rawValue] ?? "Simplex"
        var base = "\(duplex) \(profile.color ? "colour" : "mono") \(ImportPlan.safeField(profile.paper, fallback: "paper"))"
        if profile.copies > 1 { base += " x\(profile.copies)" }
        var name = base
        var suffix = 2
        while taken.contains(name) {
            name = "\(base) \(suffix)"
            suffix += 1
        }
        return name
    }
}
