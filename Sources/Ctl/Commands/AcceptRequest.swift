import ArgumentParser
import TrackerClient

/// A group you own and one of its users, for the owner's commands.
struct GroupAndUser: ParsableArguments {
    @Argument(help: "The group you own.")
    var group: String

    @Argument(help: "The user to act on.")
    var user: String
}

extension Tandemctl {
    struct AcceptRequest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let a user who asked into a group you own.", aliases: ["accept_request"])

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: GroupAndUser

        func run() async throws {
            let context = try CtlContext(self.cluster)
            try await context.sendWithSession(.acceptRequest(group: self.target.group, user: self.target.user))
                .expectOK()
            print("accepted \(self.target.user) into \(self.target.group)")
        }
    }

    struct RejectRequest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Turn down a user's request to join a group you own.",
            discussion: "The request is dropped; the user may ask again.")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: GroupAndUser

        func run() async throws {
            let context = try CtlContext(self.cluster)
            try await context.sendWithSession(.rejectRequest(group: self.target.group, user: self.target.user))
                .expectOK()
            print("turned down \(self.target.user)'s request to join \(self.target.group)")
        }
    }

    struct RemoveMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a member from a group you own.",
            discussion: """
                As if the member left: it stops seeding the group's files (a file left without a seeder goes), \
                and its peer daemon's connections for the group are cut within seconds.
                """)

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: GroupAndUser

        func run() async throws {
            let context = try CtlContext(self.cluster)
            try await context.sendWithSession(.removeMember(group: self.target.group, user: self.target.user))
                .expectOK()
            print("removed \(self.target.user) from \(self.target.group)")
        }
    }
}
