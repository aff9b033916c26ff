import ArgumentParser
import TandemCrypto
import TrackerClient
import Wire

extension Tandemctl {
    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Force one tracker to take the primary role.",
            discussion: """
                For when the pair cannot agree by itself: only one tracker came back after both stopped (it waits \
                for the other), or the backup was catching up when the primary died (it will not promote itself). \
                The tracker starts a new epoch as primary at once. Whatever the other tracker acknowledged and \
                this one lacks is lost: when the other comes back, those ops are cut from its log and kept aside \
                in a cut-*.log file of its data directory. Needs --force, and the cluster secret as QUIT does.
                """)

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The id of the tracker to promote, as cluster.yaml names it.")
        var trackerID: String

        @Flag(help: "Promote even though acknowledged writes the other tracker holds may be lost.")
        var force = false

        func run() async throws {
            let context = try CtlContext(self.cluster)
            let tracker = try context.tracker(named: self.trackerID)
            guard self.force else {
                throw ClientError.usage(
                    "promoting \(tracker.id) by hand loses every write the other tracker acknowledged and "
                        + "\(tracker.id) lacks; run `tandemctl status` first, then add --force if that is what you want"
                )
            }
            let secret = try context.config.readSecret()
            try await context.withConnection(to: tracker) { connection in
                try await context.answerChallenge("PROMOTE", on: connection, secret: secret) { .promote(mac: $0) }
            }
            print("\(tracker.id) is taking the primary role; check with tandemctl status")
        }
    }
}
