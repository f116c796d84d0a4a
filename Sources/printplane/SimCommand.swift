import ArgumentParser

/// `printplane sim`: the fleet simulator and its helpers (DESIGN.md §6).
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run the fleet simulator and its helpers.",
        subcommands: [SimNetnsCommand.self, SimCaptureCommand.self]
    )
}
