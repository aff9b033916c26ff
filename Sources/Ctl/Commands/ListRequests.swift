import ArgumentParser
import TrackerClient

extension Tandemctl {
    struct ListRequests: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the users waiting to join a group you own.",
            discussion: "With --json: an array of objects with the key user.", aliases: ["list_requests"])

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The group you own.")
        var group: String

        @Flag(help: "Print the list as JSON.")
        var json = false

        func run() async throws {
            let context = try CtlContext(self.cluster)
            let reply = try await context.sendWithSession(.listRequests(group: self.group))
            let users = try reply.expectUsers()
            if self.json {
                try JSONOutput.print(users.map { Item(user: $0) })
            } else {
                print(ReplyText.requests(users))
            }
        }

        private struct Item: Encodable {
            let user: String
        }
    }
}
