import ArgumentParser
import TrackerClient

extension Tandemctl {
    struct AcceptRequest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let a user who asked into a group you own.", aliases: ["accept_request"])

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The group you own.")
        var group: String

        @Argument(help: "The user whose request to accept.")
        var user: String

        func run() async throws {
            let context = try CtlContext(self.cluster)
            try await context.sendWithSession(.acceptRequest(group: self.group, user: self.user)).expectOK()
            print("accepted \(self.user) into \(self.group)")
        }
    }
}
