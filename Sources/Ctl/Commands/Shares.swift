import ArgumentParser
import PeerControl

extension Tandemctl {
    struct Shares: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List what this peer shares, with how much of each it served.",
            discussion: """
                A share whose file was deleted, moved or changed since it was shared is broken: no longer served \
                nor advertised; it is listed with the reason below the table until it is shared again or \
                stop-share ends it. With --json: an array of objects with the keys group, name, path, file_id, \
                size, pieces_served, bytes_served and, for a broken share, broken (the reason).
                """)

        @OptionGroup var cluster: ClusterOptions

        @Flag(help: "Print the list as JSON.")
        var json = false

        func run() async throws {
            guard case .shares(let shares) = try self.cluster.peerClient().send(.shares) else {
                throw PeerCommandFailure(message: "unexpected answer from the peer daemon", exitCode: 1)
            }
            if self.json { return try JSONOutput.print(shares) }
            guard !shares.isEmpty else { return print("no shares") }
            let rows = shares.map {
                [
                    $0.name, $0.group, ProgressText.bytes(Double($0.size)), String($0.piecesServed),
                    ProgressText.bytes(Double($0.bytesServed)), $0.path,
                ]
            }
            print(TextTable.render(headers: ["FILE", "GROUP", "SIZE", "PIECES SERVED", "SERVED", "PATH"], rows: rows))
            for share in shares {
                if let reason = share.broken { print("broken: \(share.name) in \(share.group): \(reason)") }
            }
        }
    }

    struct StopShare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop sharing a file: stop serving it and leave its seeders at once.", aliases: ["stop_share"])

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The group the file is in.")
        var group: String

        @Argument(help: "The file's name in the group.")
        var file: String

        func run() async throws {
            _ = try self.cluster.peerClient().send(.stopShare(group: self.group, name: self.file))
            print("stopped sharing \(self.file) in \(self.group)")
        }
    }

    struct StopPeer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop this user's peer daemon; downloads resume when it starts again.")

        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let peer = try self.cluster.peerClient()
            guard peer.isRunning else { return print("no peer daemon runs for \(peer.home)") }
            _ = try peer.send(.stop)
            print("stopped the peer daemon")
        }
    }
}
