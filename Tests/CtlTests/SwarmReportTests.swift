import Cluster
import Testing
import TrackerClient
import Wire

@testable import Ctl

/// `tandemctl swarm`'s report, from a tracker's file info and the peers' metrics pages.
@Suite struct SwarmReportTests {
    static let info = FileInfo(
        group: "team", name: "clip \"1\".bin", size: 1000, pieceSize: 512, pieceHashes: .empty, fileID: "ab",
        seeders: [Seeder(user: "alice", host: "10.0.0.1", port: 7300)])

    @Test func labelValuesAreUnescapedAndBadLinesSkipped() {
        let samples = MetricSample.parse(
            """
            # HELP tandem_peer_sent_bytes_total File bytes sent.
            tandem_peer_sent_bytes_total{group="team",file="clip \\"1\\".bin",to="bob"} 600
            tandem_peer_bans_total 2.0
            broken{group="team 1
            """)
        #expect(
            samples == [
                MetricSample(
                    name: "tandem_peer_sent_bytes_total",
                    labels: ["group": "team", "file": "clip \"1\".bin", "to": "bob"],
                    value: 600),
                MetricSample(name: "tandem_peer_bans_total", labels: [:], value: 2),
            ])
    }

    @Test func eachPeerShowsWhatItHoldsSentAndReceivedAndWhom() throws {
        let file = ["group": "team", "file": "clip \"1\".bin"]
        func sample(_ name: String, _ labels: [String: String], _ value: Double) -> MetricSample {
            MetricSample(name: name, labels: file.merging(labels) { $1 }, value: value)
        }
        let alice = [
            sample("tandem_peer_sent_bytes_total", ["to": "bob"], 600),
            sample("tandem_peer_sent_bytes_total", ["to": "carol"], 500),
            MetricSample(
                name: "tandem_peer_sent_bytes_total", labels: ["group": "team", "file": "other", "to": "bob"], value: 9),
        ]
        let bob = [
            sample("tandem_peer_received_bytes_total", ["from": "10.0.0.1:7300"], 600),
            sample("tandem_peer_received_bytes_total", ["from": "10.0.0.2:7301"], 400),
            sample("tandem_peer_sent_bytes_total", ["to": "carol"], 500),
            sample("tandem_peer_download_from_others_ratio", [:], 0.4),
        ]
        let report = SwarmReport(
            info: Self.info,
            peers: [
                (PeerConfig(host: "10.0.0.1", user: "alice", metricsPort: 9301), .success(alice)),
                (PeerConfig(host: "10.0.0.2", user: "bob", metricsPort: 9301), .success(bob)),
                (
                    PeerConfig(host: "10.0.0.3", user: "carol", port: 7301, metricsPort: 9301),
                    .failure(ClientError.failed("no metrics at 10.0.0.3:9301"))
                ),
            ])
        #expect(report.peers[0].seeder && report.peers[0].holds == 1000 && report.peers[0].sent == 1100)
        #expect(report.peers[0].sentTo == ["bob": 600, "carol": 500], "another file's bytes are not counted")
        #expect(report.peers[1].holds == 1000 && report.peers[1].received == 1000 && !report.peers[1].seeder)
        #expect(report.peers[1].receivedFrom == ["alice": 600, "10.0.0.2:7301": 400])
        #expect(!report.peers[2].reachable && report.peers[2].error?.contains("no metrics") == true)
        let text = report.text
        #expect(
            text.hasPrefix("team/clip \"1\".bin: 1000 B in 0 pieces; the tracker lists 1 seeder: alice@10.0.0.1:7300"))
        #expect(text.contains("bob    10.0.0.2  1000 B           500 B    1000 B    40%"), "\(text)")
        #expect(text.contains("carol  10.0.0.3  unreachable"), "\(text)")
        #expect(
            text.contains("SENT BY \\ TO  bob    carol\nalice         600 B  500 B\nbob           -      500 B"),
            "\(text)")
    }
}
