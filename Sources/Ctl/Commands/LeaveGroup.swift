import ArgumentParser
import Foundation
import TrackerClient

extension Tandemctl {
    struct LeaveGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Leave a group.",
            discussion: """
                When the owner leaves, the group is dissolved: its files and members are gone. So the owner must \
                confirm, by typing the group's name on a terminal, or with --force.
                """, aliases: ["leave_group"])

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The group to leave.")
        var group: String

        @Flag(help: "Dissolve the group without asking, when you own it.")
        var force = false

        func run() async throws {
            let context = try CtlContext(self.cluster)
            let groups = try await context.sendWithSession(.listGroups).expectGroups()
            let owned = groups.contains { $0.name == self.group && $0.membership == .owner }
            var files = 0
            if owned {
                files = try await context.sendWithSession(.listFiles(group: self.group)).expectFiles().count
                if !self.force { try self.confirmDissolving(files: files) }
            }
            try await context.sendWithSession(.leaveGroup(group: self.group)).expectOK()
            print(
                owned
                    ? "dissolved \(self.group), which you owned (\(files) files and its members gone)"
                    : "left \(self.group)")
        }

        /// Asks the owner to type the group's name; refuses without a terminal to ask on.
        private func confirmDissolving(files: Int) throws {
            let what = "you own \(self.group): leaving dissolves it, with its \(files) files and all its members"
            guard isatty(STDIN_FILENO) == 1 else {
                throw ClientError.usage("\(what); pass --force to do it")
            }
            Console.error("\(what). Type the group's name to go on: ", terminator: "")
            guard readLine(strippingNewline: true) == self.group else {
                throw ClientError.usage("not confirmed; \(self.group) is unchanged")
            }
        }
    }
}
