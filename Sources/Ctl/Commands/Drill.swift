import ArgumentParser

extension Tandemctl {
    struct Drill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rehearse a tracker failure under a write load, on this machine or on deployed hosts.",
            discussion: """
                Runs against the pair `tandemctl up` runs on this machine (the pid a tracker gives in STATUS must \
                be the one in its <data_dir>/tandemd.pid, and up starts a killed tracker again after twice the \
                failover timeout), or against trackers on other hosts, deployed by scripts/deploy: the drill \
                signals them and changes their firewall over ssh (as root unless --ssh-user says otherwise), and \
                their service manager restarts a killed one. A user of the drill's own (drill-<hex>) creates \
                groups from --writers clients, through the same \
                failover and retries as every tandemctl command; then the fault is injected. The drill prints a \
                timeline from the fault (detection and promotion, first write acknowledged after it, restart, \
                catch-up), the client-visible unavailability (the longest span without an acknowledged write), \
                and a loss check: every acknowledged write is read back from the primary. It exits with 1 when \
                a write was lost, duplicated or failed, or a step did not happen within 60 s. At the end the \
                drill dissolves its groups (its user leaves each as their owner); the account stays.
                """,
            subcommands: [KillPrimary.self, PausePrimary.self, RestartBackup.self, Partition.self])

        struct KillPrimary: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "kill -9 the primary; the backup takes over, and the old primary rejoins as backup.")

            @OptionGroup var cluster: ClusterOptions
            @OptionGroup var load: DrillLoadOptions
            @OptionGroup var hosts: DrillHostOptions

            func run() async throws {
                try await self.load.run(.process(.killPrimary), cluster: self.cluster, hosts: self.hosts)
            }
        }

        struct PausePrimary: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Stop the primary with SIGSTOP for SECONDS, then SIGCONT it.",
                discussion: """
                    Past the failover timeout the backup takes over; the resumed primary must step down without \
                    acknowledging a write.
                    """)

            @Argument(help: "How long the primary stays stopped, in seconds.")
            var seconds: Double

            @OptionGroup var cluster: ClusterOptions
            @OptionGroup var load: DrillLoadOptions
            @OptionGroup var hosts: DrillHostOptions

            func validate() throws {
                try DrillLoadOptions.validate(seconds: self.seconds)
            }

            func run() async throws {
                try await self.load.run(
                    .process(.pausePrimary(.milliseconds(Int64(self.seconds * 1000)))), cluster: self.cluster,
                    hosts: self.hosts)
            }
        }

        struct Partition: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Cut the trackers' sync link for SECONDS with nftables, writers on each tracker.",
                discussion: """
                    The drill adds an nftables table, tandem_drill, and removes it after: on this host, as root, \
                    when both trackers run on its loopback; else on the backup's host, over ssh. Clients still \
                    reach both trackers; half the \
                    writers write to each, without failover. Past the failover timeout the backup takes over \
                    while the old primary may acknowledge writes alone; when the link comes back one log is cut. \
                    The writers stop just before, and the drill reads both logs over the network (READ_LOG), so \
                    it reports exactly what each tracker acknowledged, in which epoch, what was lost, and which \
                    cut of a log took it (kept in a cut-*.log of that tracker's data_dir). Without a witness \
                    (issue 15) a partition can lose acknowledged writes: the drill then fails.
                    """)

            @Argument(help: "How long the link stays cut, in seconds.")
            var seconds: Double

            @Flag(help: "Cut only what the primary sends the backup.")
            var oneWay = false

            @OptionGroup var cluster: ClusterOptions
            @OptionGroup var load: DrillLoadOptions
            @OptionGroup var hosts: DrillHostOptions

            func validate() throws {
                try DrillLoadOptions.validate(seconds: self.seconds)
            }

            func run() async throws {
                try await self.load.run(
                    .partition(.milliseconds(Int64(self.seconds * 1000)), oneWay: self.oneWay), cluster: self.cluster,
                    hosts: self.hosts)
            }
        }

        struct RestartBackup: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "kill -9 the backup; it restarts and catches up while the primary serves alone.")

            @OptionGroup var cluster: ClusterOptions
            @OptionGroup var load: DrillLoadOptions
            @OptionGroup var hosts: DrillHostOptions

            func run() async throws {
                try await self.load.run(.process(.restartBackup), cluster: self.cluster, hosts: self.hosts)
            }
        }
    }
}

/// The drill's write load, common to every drill.
struct DrillLoadOptions: ParsableArguments {
    /// Refuses a fault's length that is not above 0 and at most 600 seconds.
    static func validate(seconds: Double) throws {
        guard seconds > 0, seconds <= 600 else {
            throw ValidationError("SECONDS must be above 0 and at most 600, not \(seconds)")
        }
    }

    @Option(help: "How many clients write during the drill.")
    var writers = 8

    func validate() throws {
        guard (1...64).contains(self.writers) else {
            throw ValidationError("--writers must be 1 to 64, not \(self.writers)")
        }
    }

    /// Runs the drill, prints its report, and exits with 1 when it failed.
    func run(_ fault: DrillFault, cluster: ClusterOptions, hosts: DrillHostOptions) async throws {
        let context = try CtlContext(cluster)
        let drill = DrillRun(context: context, fault: fault, writers: self.writers, hosts: hosts.hosts)
        let report = try await drill.run()
        for line in report.lines { print(line) }
        if !report.passed { throw ExitCode(1) }
    }
}

/// How a drill reaches trackers on other hosts.
struct DrillHostOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "An ssh_config for reaching the trackers' hosts (as scripts/deploy takes).", valueName: "file"))
    var sshConfig: String?

    @Option(help: ArgumentHelp("Who ssh logs in as on the trackers' hosts.", valueName: "user"))
    var sshUser = "root"

    var hosts: DrillHosts { DrillHosts(sshConfig: self.sshConfig, sshUser: self.sshUser) }
}
