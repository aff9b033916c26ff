import ArgumentParser
import Cluster
import TrackerClient
import Wire

extension Tandemctl {
    struct Switchover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hand the primary role to the backup, for maintenance, without losing or failing a write.",
            discussion: """
                Asks the primary to hand its role over: it takes no more writes (clients retry them, and tandemctl \
                does so by itself), waits until the backup holds every write it acknowledged, and tells the backup \
                to take over; the backup becomes primary in a new epoch and the old primary its backup. Prints \
                each step with the time it took, and exits once the old primary is back in sync as the backup. \
                Refused unless the backup is in sync. If the backup does not take over within the failover \
                timeout, the primary goes on as before and this says why (exit 1). Needs the cluster secret, as \
                QUIT does.
                """)

        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let context = try CtlContext(self.cluster)
            let before = await Status.lines(context)
            guard let primary = before.first(where: { $0.status?["role"] == "primary" }) else {
                throw ClientError.failed(
                    "no tracker is primary now, so there is no role to hand over; see tandemctl status")
            }
            guard primary.status?["backup"] == "in_sync",
                let backup = before.first(where: { $0.tracker != primary.tracker })
            else {
                throw ClientError.failed(
                    "\(primary.tracker)'s backup is not in sync, so it may lack acknowledged writes; wait until "
                        + "tandemctl status shows it in_sync")
            }
            let secret = try context.config.readSecret()
            let start = ContinuousClock.now
            try await context.withConnection(to: try context.tracker(named: primary.tracker)) { connection in
                try await context.answerChallenge("SWITCHOVER", on: connection, secret: secret) { .switchover(mac: $0) }
            }
            print("\(primary.tracker) is handing the primary role to \(backup.tracker)")
            let timeout = context.config.replication.failoverTimeout * 3 + .seconds(5)
            var tookOver = false
            while ContinuousClock.now - start < timeout {
                let now = await Status.lines(context)
                let old = now.first { $0.tracker == primary.tracker }?.status
                let new = now.first { $0.tracker == backup.tracker }?.status
                if !tookOver, new?["role"] == "primary" {
                    tookOver = true
                    print("\(backup.tracker) took over in epoch \(new?["epoch"] ?? "?") after \(Self.since(start))")
                }
                if tookOver, new?["role"] == "primary", new?["backup"] == "in_sync", old?["role"] == "backup" {
                    print("\(primary.tracker) is its backup, in sync, after \(Self.since(start))")
                    return
                }
                if !tookOver, old?["role"] == "primary", let failure = old?["switchover_failed"] {
                    throw ClientError.failed(
                        "the switchover ended without one: \(failure); \(primary.tracker) goes on as primary")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw ClientError.failed(
                "the pair did not settle within \(timeout) of the switchover; see tandemctl status")
        }

        /// The milliseconds since `start`, for the timeline.
        static func since(_ start: ContinuousClock.Instant) -> String {
            let elapsed = ContinuousClock.now - start
            return "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000) ms"
        }
    }
}
