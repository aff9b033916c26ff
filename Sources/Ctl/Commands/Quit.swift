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
            guard let tracker = context.config.tracker(id: self.trackerID) else {
                let known = context.config.trackers.map(\.id).joined(separator: ", ")
                throw CtlError.usage("no tracker '\(self.trackerID)' in cluster.yaml; its trackers are \(known)")
            }
            let secret = try context.config.readSecret()
            try await context.withConnection(to: tracker) { connection in
                let challenge = try await connection.send(.quit(mac: nil))
                let nonce = try challenge.expect("a challenge") {
                    if case .challenge(let nonce) = $0 { nonce } else { nil }
                }
                try await connection.send(.quit(mac: Crypto.hmacSHA256(key: secret, message: nonce))).expectOK()
            }
            print("\(tracker.id) is stopping")
        }
    }
}
