import ArgumentParser
import TandemCrypto
import TrackerClient
import Wire

extension Tandemctl {
    struct Proof: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the HELLO line that admits this session to peers serving a group's files.",
            discussion: """
                For text clients of a peer daemon: `nc HOST PORT`, then this line, then GET_PIECE|FILE|INDEX. The \
                proof is an HMAC of the group under the session token: it names the group, dies with the session \
                and does not reveal the token.
                """)

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The group whose files to fetch.")
        var group: String

        func run() async throws {
            let context = try CtlContext(self.cluster)
            guard let token = try context.sessions.load() else { throw ClientError.notLoggedIn }
            let reply = try await context.sendWithSession(.whoami)
            let user = try reply.expectUser()
            print("HELLO|\(user)|\(self.group)|\(Hex.encode(PeerProof.make(token: token, group: self.group)))")
        }
    }
}
