import ArgumentParser
import TrackerClient

extension Tandemctl {
    struct LeaveGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Leave a group.",
            discussion: "When the owner leaves, the group is dissolved.", aliases: ["leave_group"])

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The group to leave.")
        var group: String

        func run() async throws {
            let context = try CtlContext(self.cluster)
            try await context.sendWithSession(.leaveGroup(group: self.group)).expectOK()
            print("left \(self.group)")
        }
    }
}
