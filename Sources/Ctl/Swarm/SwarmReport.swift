import Cluster
import Wire

/// What `tandemctl swarm` shows of one file: the seeders the tracker lists, and from each peer daemon of
/// cluster.yaml that serves metrics, how much of the file it holds and who sent whom what. Pure: the command
/// gathers the inputs.
struct SwarmReport: Encodable {
    /// One peer daemon of cluster.yaml, as its metrics tell.
    struct Peer: Encodable {
        var user: String
        var host: String
        /// Whether its metrics were read; `error` says why not.
        var reachable: Bool
        var error: String?
        /// Whether the tracker lists it as a seeder of the file.
        var seeder: Bool
        /// The verified bytes of the file it holds: all of it for a seeder, else what it received.
        var holds: UInt64?
        /// The bytes of the file it sent, in all and to each user.
        var sent: UInt64?
        var sentTo: [String: UInt64]
        /// The verified bytes it received, in all and from each serving peer (a user when cluster.yaml or the
        /// tracker names the address, else the address).
        var received: UInt64?
        var receivedFrom: [String: UInt64]
        /// Of what it downloaded, the share that came from peers other than the first seeder (0 to 1).
        var fromOthers: Double?
    }

    var group: String
    var file: String
    var size: UInt64
    var pieces: Int
    /// The seeders the tracker lists, as `user@host:port`.
    var seeders: [String]
    var peers: [Peer]

    /// The report of `info` from each peer's samples, or why there are none.
    init(info: FileInfo, peers: [(config: PeerConfig, samples: Result<[MetricSample], any Error>)]) {
        self.group = info.group
        self.file = info.name
        self.size = info.size
        self.pieces = info.pieceHashes.count
        self.seeders = info.seeders.map { "\($0.user)@\($0.host):\($0.port)" }
        // Who serves at an address: the tracker's seeders, then cluster.yaml's peers with a fixed port.
        var users: [String: String] = [:]
        for peer in peers { if let port = peer.config.port { users["\(peer.config.host):\(port)"] = peer.config.user } }
        for seeder in info.seeders { users["\(seeder.host):\(seeder.port)"] = seeder.user }
        let file = ["group": info.group, "file": info.name]
        self.peers = peers.map { peer in
            let seeder = info.seeders.contains { $0.user == peer.config.user && $0.host == peer.config.host }
            var row = Peer(
                user: peer.config.user, host: peer.config.host, reachable: false, seeder: seeder, sentTo: [:],
                receivedFrom: [:])
            switch peer.samples {
            case .failure(let error):
                row.error = "\(error)"
            case .success(let samples):
                row.reachable = true
                let ofFile = samples.filter { sample in file.allSatisfy { sample.labels[$0.key] == $0.value } }
                for sample in ofFile {
                    switch sample.name {
                    case "tandem_peer_sent_bytes_total":
                        row.sentTo[sample.labels["to"] ?? "?", default: 0] += UInt64(sample.value)
                    case "tandem_peer_received_bytes_total":
                        let from = sample.labels["from"] ?? "?"
                        row.receivedFrom[users[from] ?? from, default: 0] += UInt64(sample.value)
                    case "tandem_peer_download_from_others_ratio":
                        row.fromOthers = sample.value
                    default:
                        break
                    }
                }
                row.sent = row.sentTo.values.reduce(0, +)
                row.received = row.receivedFrom.values.reduce(0, +)
                row.holds = seeder ? info.size : min(row.received ?? 0, info.size)
            }
            return row
        }
    }

    /// The report for people: the file, a row per peer, and who sent whom what.
    var text: String {
        var lines = [
            "\(self.group)/\(self.file): \(ByteCount.format(self.size)) in \(self.pieces) pieces; the tracker lists "
                + "\(self.seeders.count) seeder\(self.seeders.count == 1 ? "" : "s")"
                + (self.seeders.isEmpty ? "" : ": " + self.seeders.joined(separator: ", "))
        ]
        guard !self.peers.isEmpty else {
            lines.append("cluster.yaml lists no peers with a metrics_port, so no peer's counters can be shown")
            return lines.joined(separator: "\n")
        }
        let bytes = { (value: UInt64?) in value.map { ByteCount.format($0) } ?? "-" }
        let rows = self.peers.map { peer -> [String] in
            guard peer.reachable else { return [peer.user, peer.host, "unreachable", "-", "-", "-"] }
            let holds = bytes(peer.holds) + (peer.seeder ? " (seeder)" : "")
            let others = peer.fromOthers.map { "\(Int(($0 * 100).rounded()))%" } ?? "-"
            return [peer.user, peer.host, holds, bytes(peer.sent), bytes(peer.received), others]
        }
        lines.append("")
        lines.append(
            TextTable.render(headers: ["PEER", "HOST", "HOLDS", "SENT", "RECEIVED", "FROM OTHERS"], rows: rows))
        let receivers = Set(self.peers.flatMap { $0.sentTo.keys }).sorted()
        let senders = self.peers.filter { !$0.sentTo.isEmpty }
        if !senders.isEmpty {
            let matrix = senders.map { peer in [peer.user] + receivers.map { bytes(peer.sentTo[$0]) } }
            lines.append("")
            lines.append(TextTable.render(headers: ["SENT BY \\ TO"] + receivers, rows: matrix))
        }
        lines += self.peers.compactMap { peer in peer.error.map { "\(peer.user): \($0)" } }
        return lines.joined(separator: "\n")
    }
}
