import ArgumentParser
import TrackerClient

extension Tandemctl {
    struct ListFiles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the files shared in a group.",
            discussion: """
                With --json: an array of objects with the keys name, size (bytes), seeders and file_id (the SHA1 \
                of the piece-hash list, in hex).
                """, aliases: ["list_files"])

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The group whose files to list.")
        var group: String

        @Flag(help: "Print the list as JSON.")
        var json = false

        func run() async throws {
            let context = try CtlContext(self.cluster)
            let reply = try await context.sendWithSession(.listFiles(group: self.group))
            let files = try reply.expectFiles()
            if self.json {
                try JSONOutput.print(
                    files.map { Item(name: $0.name, size: $0.size, seeders: $0.seeders, fileID: $0.fileID) })
            } else {
                print(ReplyText.files(files))
            }
        }

        private struct Item: Encodable {
            let name: String
            let size: UInt64
            let seeders: UInt32
            let fileID: String
        }
    }
}
