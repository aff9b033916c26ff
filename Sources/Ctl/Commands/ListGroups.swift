import ArgumentParser
import TrackerClient
import Wire

extension Tandemctl {
    struct ListGroups: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every group and how you stand with it.",
            discussion: """
                MEMBERSHIP is none, pending (you asked to join), member or owner. --mine lists only the groups \
                you own or belong to. With --json: an array of objects with the keys name and membership.
                """, aliases: ["list_groups"])

        @OptionGroup var cluster: ClusterOptions

        @Flag(help: "Only the groups you own or are a member of.")
        var mine = false

        @Flag(help: "Print the list as JSON.")
        var json = false

        func run() async throws {
            let context = try CtlContext(self.cluster)
            let reply = try await context.sendWithSession(.listGroups)
            let groups = try reply.expectGroups().filter {
                !self.mine || $0.membership == .member || $0.membership == .owner
            }
            if self.json {
                try JSONOutput.print(
                    groups.map { Item(name: $0.name, membership: ReplyText.membership($0.membership)) })
            } else {
                print(ReplyText.groups(groups))
            }
        }

        private struct Item: Encodable {
            let name: String
            let membership: String
        }
    }
}
