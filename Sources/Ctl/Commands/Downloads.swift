import ArgumentParser
import Foundation
import PeerControl

extension Tandemctl {
    struct Downloads: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List this peer's downloads with their progress (show_downloads).",
            discussion: """
                Columns: file, group, state (downloading, waiting, paused, complete, failed), percent, rate, \
                peers and time left. With --json: an array of objects with the keys group, name, file_id, target, \
                state, size, bytes_done, pieces_done, pieces, rate (bytes/s), peers, eta (seconds) and message.
                """, aliases: ["show_downloads"])

        @OptionGroup var cluster: ClusterOptions

        @Flag(help: "Redraw the list with progress bars every half second until interrupted.")
        var watch = false

        @Flag(help: "Print the list as JSON.")
        var json = false

        @Flag(help: "Forget the downloads that ended (complete or failed) first.")
        var clear = false

        func run() async throws {
            let peer = try self.cluster.peerClient()
            var request = self.clear ? ControlRequest.clearDownloads : .downloads
            repeat {
                defer { request = .downloads }
                guard case .downloads(let downloads) = try peer.send(request) else {
                    throw PeerCommandFailure(message: "unexpected answer from the peer daemon", exitCode: 1)
                }
                if self.json {
                    try JSONOutput.print(downloads)
                } else if self.watch {
                    let columns = ProgressLine.columns(of: STDOUT_FILENO)
                    let lines = DownloadsTable.render(downloads, bars: true).split(
                        separator: "\n", omittingEmptySubsequences: false)
                    print(
                        "\u{1B}[H\u{1B}[2J"
                            + lines.map { ProgressText.fit(String($0), columns: columns) }.joined(separator: "\n"))
                } else {
                    print(DownloadsTable.render(downloads, bars: false))
                }
                if self.watch { try await Task.sleep(for: .milliseconds(500)) }
            } while self.watch
        }
    }
}

/// The `downloads` table and the one-line progress of `download`.
enum DownloadsTable {
    /// The table, one row a download, with its message (and with `bars`, its progress bar) beneath.
    static func render(_ downloads: [DownloadStatus], bars: Bool) -> String {
        guard !downloads.isEmpty else { return "no downloads" }
        var rows: [[String]] = []
        for download in downloads {
            rows.append([
                download.name, download.group, download.state.rawValue, String(format: "%.1f%%", download.percent),
                ProgressText.bytes(download.rate) + "/s", String(download.peers), ProgressText.duration(download.eta),
            ])
        }
        let headers = ["FILE", "GROUP", "STATE", "DONE", "RATE", "PEERS", "ETA"]
        var lines = TextTable.render(headers: headers, rows: rows).split(
            separator: "\n", omittingEmptySubsequences: false
        ).map(String.init)
        // A row stays within the table's columns; its bar and its message (which can be long) go on lines of
        // their own beneath it, so the table reads at 80 columns.
        for (index, download) in downloads.enumerated() {
            if bars {
                lines[index + 1] += "\n  " + ProgressText.bar(done: download.bytesDone, total: download.size, width: 40)
            }
            if let message = download.message { lines[index + 1] += "\n  " + message }
        }
        return lines.joined(separator: "\n")
    }

    static func progress(_ status: DownloadStatus) -> String {
        "\(status.name) "
            + ProgressText.line(done: status.bytesDone, total: status.size, rate: status.rate, eta: status.eta)
            + " \(status.peers) peers" + (status.message.map { " — \($0)" } ?? "")
    }
}
