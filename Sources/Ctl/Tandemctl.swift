import ArgumentParser
import Cluster

/// `tandemctl`: every user and operator action on a Tandem cluster.
@main
struct Tandemctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandemctl",
        abstract: "Use and run a Tandem file-sharing cluster.",
        discussion: """
            Each command reads cluster.yaml, talks to the first tracker that answers and exits with 0 when it \
            succeeded, 1 when the cluster refused it, 2 on a usage or configuration error and 3 when no tracker \
            could be reached.
            """,
        version: TandemVersion.current,
        subcommands: [
            CreateUser.self, Login.self, Logout.self, Whoami.self,
            CreateGroup.self, JoinGroup.self, LeaveGroup.self, ListGroups.self, ListRequests.self, AcceptRequest.self,
            RejectRequest.self, RemoveMember.self,
            ListFiles.self, Share.self, Download.self, Downloads.self, Pause.self, Resume.self, Cancel.self,
            Shares.self, StopShare.self, StopPeer.self,
            Proof.self, Status.self, Log.self, Promote.self, Switchover.self, Drill.self, Quit.self, Up.self,
            Deploy.self, Swarm.self, Shell.self,
        ]
    )

    /// Accepted before the subcommand too (`tandemctl --config c.yaml list-groups`); each subcommand declares the
    /// same group, and ArgumentParser hands it the values given here.
    @OptionGroup var cluster: ClusterOptions
}
