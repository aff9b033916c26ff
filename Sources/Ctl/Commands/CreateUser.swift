import ArgumentParser
import TrackerClient

extension Tandemctl {
    struct CreateUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user account.",
            discussion: """
                The password is read from standard input with --password-stdin, else from TANDEM_PASSWORD, else \
                asked for twice at a prompt. It is never taken as an argument. Creating a user does not log in.
                """, aliases: ["create_user"])

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The name of the new user.")
        var user: String

        @Flag(help: "Read the password from the first line of standard input.")
        var passwordStdin = false

        func run() async throws {
            let password = try PasswordSource(fromStandardInput: self.passwordStdin).read(confirm: true)
            let context = try CtlContext(self.cluster)
            let reply = try await context.send(.createUser(user: self.user, password: password), withSession: false)
            try reply.expectOK()
            print("created user \(self.user)")
        }
    }
}
