import ArgumentParser
import Foundation
import PeerControl
import TrackerClient

extension Tandemctl {
    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a file of a group from every peer that has it.",
            discussion: """
                The peer daemon fetches pieces from all seeders at once, checks each piece's SHA1, writes the file \
                as NAME.part in the target directory and renames it into place when every piece is verified; \
                then it seeds the file. This command shows the progress until the download ends (a bar on a \
                terminal); interrupting it leaves the download running: tandemctl downloads shows it. An \
                interrupted download (the daemon stopped) resumes from its verified pieces.
                """)

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "The group the file is in.")
        var group: String

        @Argument(help: "The file's name in the group.")
        var file: String

        @Option(help: "The directory to download into (default: the current directory).")
        var to: String?

        @Flag(help: "Start the download and return at once.")
        var detach = false

        @Flag(help: "Print the final status as JSON.")
        var json = false

        func run() async throws {
            let peer = try self.cluster.peerClient()
            let directory = ClusterOptions.absolute(self.to ?? ".", in: FileManager.default.currentDirectoryPath)
            let reply = try peer.send(.download(group: self.group, name: self.file, to: directory))
            guard case .downloadStarted(var status) = reply else {
                throw PeerCommandFailure(message: "unexpected answer from the peer daemon", exitCode: 1)
            }
            var line = ProgressLine()
            let interrupt = self.detach ? nil : Self.sayingItGoesOn(group: self.group, file: self.file)
            defer { interrupt?.cancel() }
            while !self.detach && status.state.isRunning {
                line.draw(DownloadsTable.progress(status))
                guard
                    case .download(let current) = try peer.send(
                        .awaitDownload(fileID: status.fileID, milliseconds: 200))
                else { break }
                status = current
            }
            line.finish()
            if self.json { return try JSONOutput.print(status) }
            switch status.state {
            case .complete:
                print(
                    "downloaded \(status.name) to \(status.target) (\(ProgressText.bytes(Double(status.size)))); seeding it"
                )
            case .failed: throw PeerCommandFailure(message: status.message ?? "the download failed", exitCode: 1)
            case .downloading, .waiting:
                print("downloading \(status.name) to \(status.target); tandemctl downloads shows how far it is")
            case .paused:
                print("\(status.name) is paused; tandemctl resume \(status.group) \(status.name) goes on with it")
            }
        }

        /// On Ctrl-C, says that the download goes on in the peer daemon and how to stop it, then exits 130.
        private static func sayingItGoesOn(group: String, file: String) -> any DispatchSourceSignal {
            signal(SIGINT, SIG_IGN)
            let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            interrupt.setEventHandler {
                Console.error(
                    "\n\(file) goes on downloading in the peer daemon; tandemctl pause \(group) \(file) or tandemctl "
                        + "cancel \(group) \(file) stops it")
                Foundation.exit(130)
            }
            interrupt.resume()
            return interrupt
        }
    }
}
