import ArgumentParser
import TrackerClient

extension Tandemctl {
    struct Whoami: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the user of the stored session.")

        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let context = try CtlContext(self.cluster)
            let reply = try await context.sendWithSession(.whoami)
            print(try reply.expectUser())
        }
    }
}
