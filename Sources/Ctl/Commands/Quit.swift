import ArgumentParser
import TandemCrypto

extension Tandemctl {
    struct Quit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop one tracker cleanly.",
            discussion: """
                The tracker sends a challenge and stops only when answered with HMAC-SHA256 under the cluster \
                secret (cluster.secret_file); the secret itself never crosses the network. Only the named tracker \
                is contacted.
                """)

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The id of the tracker to stop, as cluster.yaml names it.")
        var trackerID: String

        func run() async throws {
            let context = try CtlContext(self.cluster)
            let tracker = try context.tracker(named: self.trackerID)
            let secret = try context.config.readSecret()
            try await context.withConnection(to: tracker) { connection in
                try await context.answerChallenge("QUIT", on: connection, secret: secret) { .quit(mac: $0) }
            }
            print("\(tracker.id) is stopping")
        }
    }
}
