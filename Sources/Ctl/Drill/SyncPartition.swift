import Cluster
import Foundation
import TrackerClient

/// Cuts the sync link between the two trackers with nftables on this host, by their sync ports, so that clients
/// still reach both: a table of its own (`inet tandem_drill`), removed by ``heal()``. Both ways drops every packet
/// to or from either sync port; one way drops only what `from` sends to `to` (on each of their connections).
struct SyncPartition {
    /// The nftables table the drill adds and removes.
    static let table = "tandem_drill"

    let from: TrackerConfig
    let to: TrackerConfig
    let oneWay: Bool

    /// The ruleset `nft -f` loads.
    var ruleset: String {
        let drops =
            self.oneWay
            // From `from` to `to`: to `to`'s sync port on the connection `from` dialed, and from `from`'s sync port
            // on the one `to` dialed.
            ? ["tcp dport \(self.to.syncPort) drop", "tcp sport \(self.from.syncPort) drop"]
            : [
                "tcp dport { \(self.from.syncPort), \(self.to.syncPort) } drop",
                "tcp sport { \(self.from.syncPort), \(self.to.syncPort) } drop",
            ]
        return """
            table inet \(Self.table) {
              chain output {
                type filter hook output priority 0; policy accept;
                \(drops.joined(separator: "\n    "))
              }
            }

            """
    }

    /// What the cut is, for the timeline.
    var description: String {
        self.oneWay
            ? "\(self.from.id) to \(self.to.id) only (sync ports \(self.to.syncPort) in, \(self.from.syncPort) out)"
            : "both ways between \(self.from.id) and \(self.to.id) (sync ports \(self.from.syncPort), "
                + "\(self.to.syncPort))"
    }

    /// Refuses a cluster whose trackers are not both on this host's loopback: the rules are this host's.
    static func check(_ trackers: [TrackerConfig]) throws(ClientError) {
        guard trackers.allSatisfy({ $0.host.hasPrefix("127.") || $0.host == "localhost" }) else {
            throw .usage(
                "the partition drill cuts the link between trackers on this host's loopback; these trackers are on "
                    + trackers.map(\.host).joined(separator: " and "))
        }
        guard getuid() == 0 else {
            throw .usage("the partition drill adds nftables rules, which needs root")
        }
    }

    /// Adds the rules.
    func cut() throws(ClientError) {
        try Self.nft(["-f", "-"], input: self.ruleset)
    }

    /// Removes the rules (and a table a drill before left behind).
    static func heal() throws(ClientError) {
        try Self.nft(["delete", "table", "inet", Self.table], input: nil)
    }

    /// Whether a drill's table is there (one that was interrupted).
    static var isPresent: Bool {
        (try? Self.nft(["list", "table", "inet", Self.table], input: nil)) != nil
    }

    private static func nft(_ arguments: [String], input: String?) throws(ClientError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/nft")
        process.arguments = arguments
        let stdin = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw .failed("cannot run /usr/sbin/nft (apt-get install nftables): \(error)")
        }
        try? stdin.fileHandleForWriting.write(contentsOf: Data((input ?? "").utf8))
        try? stdin.fileHandleForWriting.close()
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw .failed(
                "nft \(arguments.joined(separator: " ")) failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
    }
}
