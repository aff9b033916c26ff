import ArgumentParser
import CLinux
import Cluster

/// `tandemd`: the Tandem daemons.
@main
struct Tandemd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandemd",
        abstract: "Run a Tandem tracker or a user's peer daemon.",
        version: TandemVersion.current,
        subcommands: [TrackerCommand.self, PeerCommand.self]
    )

    /// Buffers from 256 KiB up (large frames, reads of many connections) are mapped on their own, so the memory a
    /// burst of them took goes back to the system when they are freed.
    static let ownMappingThreshold: Int32 = 256 << 10

    static func main() async {
        tandem_return_large_allocations(Self.ownMappingThreshold)
        tandem_raise_descriptor_limit()
        do {
            var command = try Self.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Self.exit(withError: error)
        }
    }
}
