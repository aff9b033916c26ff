import ArgumentParser

/// `tandemd`: the Tandem daemons.
@main
struct Tandemd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandemd",
        abstract: "Run a Tandem tracker or a user's peer daemon.",
        subcommands: [TrackerCommand.self, PeerCommand.self]
    )
}
