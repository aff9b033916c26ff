import ArgumentParser
import PeerControl

/// Which download a control command acts on.
struct DownloadName: ParsableArguments {
    @Argument(help: "The group the file is in.")
    var group: String

    @Argument(help: "The file's name in the group.")
    var file: String
}

extension Tandemctl {
    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pause a download: it keeps its verified pieces and asks no peer for more until resumed.",
            discussion: "It stays paused when the peer daemon restarts.")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var download: DownloadName

        func run() async throws {
            let reply = try self.cluster.peerClient().send(.pause(group: self.download.group, name: self.download.file))
            guard case .download(let status) = reply else {
                throw PeerCommandFailure(message: "unexpected answer from the peer daemon", exitCode: 1)
            }
            print("paused \(status.name) at \(String(format: "%.1f%%", status.percent))")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Go on with a paused or failed download, from its verified pieces.")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var download: DownloadName

        func run() async throws {
            let reply = try self.cluster.peerClient().send(
                .resume(group: self.download.group, name: self.download.file))
            guard case .download(let status) = reply else {
                throw PeerCommandFailure(message: "unexpected answer from the peer daemon", exitCode: 1)
            }
            print("resumed \(status.name) (\(status.state.rawValue)); tandemctl downloads shows how far it is")
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a download for good and delete its part file.")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var download: DownloadName

        func run() async throws {
            _ = try self.cluster.peerClient().send(.cancel(group: self.download.group, name: self.download.file))
            print("cancelled the download of \(self.download.file) in \(self.download.group)")
        }
    }
}
