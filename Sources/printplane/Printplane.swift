import ArgumentParser

/// The single Printplane command line (DESIGN.md §8). Each subcommand only maps
/// flags onto a library `…Configuration` and runs the service it builds.
@main
struct Printplane: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "printplane",
        abstract: "Serverless print management, and the harness that proves it works.",
        discussion: """
            Printplane is a cloud control plane for printers, drivers and who gets
            what, plus a workstation agent that prints straight to the printer.
            This one binary also carries the test harness: a fake network printer,
            a simulated Active Directory and a fleet simulator.

            Run `printplane help <subcommand>` for examples.
            """,
        subcommands: [PrinterCommand.self, ADCommand.self, ServerCommand.self, TokenCommand.self, DirectoryCommand.self, ImportCommand.self, AgentCommand.self, ReleaseCommand.self, CacheCommand.self, SimCommand.self]
    )
}
