import ArgumentParser
import TrackerClient

extension Tandemctl {
    struct Shell: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Type the original client's commands at a prompt.",
            discussion: """
                Accepts create_user, login, logout, whoami, create_group, join_group, leave_group, list_groups, \
                list_requests, accept_request, list_files, history, help and quit, with space-separated arguments. \
                Everything goes over one connection, which is the session: login in the shell logs in that \
                connection only and stores no token. The lines typed are kept in <home>/shell_history (the last \
                1,000, passwords masked). With standard input piped, no prompt is shown.
                """)

        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let context = try CtlContext(self.cluster)
            let history = try ShellHistory(home: self.cluster.homeDirectory())
            try await context.withConnection { connection in
                var session = ShellSession(
                    connection: connection, history: history, interactive: Console.inputIsTerminal)
                try await session.run()
            }
        }
    }
}
