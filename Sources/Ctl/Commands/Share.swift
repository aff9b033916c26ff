import ArgumentParser
import Foundation
import PeerControl

extension Tandemctl {
    struct Share: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Share a file into a group: hash it and seed it from where it is.",
            discussion: """
                The peer daemon hashes the file in pieces of the cluster's piece size on every core (a progress \
                bar shows on a terminal), registers it with the tracker and serves it from its place: it is never \
                copied. Sharing a file the group already has with the same content makes this peer one more seeder.
                """)

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The group to share into.")
        var group: String

        @Argument(help: "The file to share.")
        var path: String

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() async throws {
            let peer = try self.cluster.peerClient()
            let path = ClusterOptions.absolute(self.path, in: FileManager.default.currentDirectoryPath)
            var line = ProgressLine()
            let started = ContinuousClock.now
            let reply = try peer.send(.share(group: self.group, path: path)) { progress in
                let elapsed = (ContinuousClock.now - started).seconds
                line.draw("hashing " + ProgressText.line(done: progress.done, total: progress.total, elapsed: elapsed))
            }
            line.finish()
            guard case .shared(let share) = reply else {
                throw PeerCommandFailure(message: "unexpected answer from the peer daemon", exitCode: 1)
            }
            if self.json {
                try JSONOutput.print(share)
            } else {
                print(share.summary)
            }
        }
    }
}

extension ShareStatus {
    /// `shared NAME in GROUP: SIZE, file id ID`, as `share` and the shell's `upload_file` print it.
    var summary: String {
        "shared \(self.name) in \(self.group): \(ProgressText.bytes(Double(self.size))), file id \(self.fileID)"
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }
}
