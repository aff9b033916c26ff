import ArgumentParser
import TrackerClient

extension Tandemctl {
    struct Shell: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Type the original client's commands at a prompt.",
            discussion: """
                Accepts create_user, login, logout, whoami, create_group, join_group, leave_group, list_groups, \
                list_requests, accept_request, list_files, upload_file, download_file, show_downloads, stop_share, \
                history, help and quit, with space-separated arguments. Tracker commands go over one connection, \
                which is the session; login also stores its token in the home, as tandemctl login does, because the \
                sharing commands go to the home's peer daemon, which shares, downloads and keeps seeding for that \
                session after the shell ends (logout forgets it). The lines typed are kept in \
                <home>/shell_history (the last 1,000, passwords masked). With standard input piped, no prompt is \
                shown.
                """)

        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let context = try CtlContext(self.cluster)
            try context.sessions.checkHome()
            let history = try ShellHistory(home: self.cluster.homeDirectory())
            try await context.withConnection { connection in
                var session = ShellSession(
                    connection: connection, peer: try self.cluster.peerClient(),
                    sessions: context.sessions, history: history,
                    interactive: Console.inputIsTerminal)
                try await session.run()
            }
        }
    }
}
