import ArgumentParser
import TrackerClient

extension Tandemctl {
    struct Logout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End the session and forget its token.",
            discussion: "The stored token is removed even when the cluster has already forgotten the session.")

        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let context = try CtlContext(self.cluster)
            do {
                try await context.sendWithSession(.logout).expectOK()
            } catch let error as ClientError where error == .notLoggedIn {
                try context.sessions.clear()
                throw error
            }
            try context.sessions.clear()
            print("logged out")
        }
    }
}
