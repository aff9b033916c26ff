import ArgumentParser
import TrackerClient

extension Tandemctl {
    struct JoinGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask to join a group.",
            discussion: "You become a member once the group's owner accepts the request.", aliases: ["join_group"])

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The group to join.")
        var group: String

        func run() async throws {
            let context = try CtlContext(self.cluster)
            try await context.sendWithSession(.joinGroup(group: self.group)).expectOK()
            print("asked to join \(self.group); its owner must accept")
        }
    }
}
