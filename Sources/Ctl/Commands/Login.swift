import ArgumentParser
import TrackerClient

extension Tandemctl {
    struct Login: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Log in and store a session token.",
            discussion: """
                The token is stored in <home>/session with mode 0600; later commands resume that session. The \
                password is read from standard input with --password-stdin, else from TANDEM_PASSWORD, else asked \
                for at a prompt.
                """)

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The user to log in as.")
        var user: String

        @Flag(help: "Read the password from the first line of standard input.")
        var passwordStdin = false

        func run() async throws {
            let context = try CtlContext(self.cluster)
            try context.sessions.checkHome()
            let password = try PasswordSource(fromStandardInput: self.passwordStdin).read(confirm: false)
            let reply = try await context.send(.login(user: self.user, password: password), withSession: false)
            let token = try reply.expectToken()
            try context.sessions.save(token)
            print("logged in as \(self.user)")
        }
    }
}
