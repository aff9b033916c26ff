import ArgumentParser
import TrackerClient

extension Tandemctl {
    struct CreateGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a group that you own.", aliases: ["create_group"])

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The name of the new group.")
        var group: String

        func run() async throws {
            let context = try CtlContext(self.cluster)
            try await context.sendWithSession(.createGroup(group: self.group)).expectOK()
            print("created group \(self.group)")
        }
    }
}
