import Foundation
import TandemTestKit
import Testing

/// A peer daemon's Prometheus metrics (`tandemd peer --metrics-port`), scraped over HTTP from the real binaries.
@Suite struct PeerMetricsTests {
    @Test func whatOnePeerSendsAnotherReceivesIsCountedOnBothSides() throws {
        let cluster = try TestCluster(pieceSize: "64KiB", extraYAML: "swarm: { peer_timeout: 2s }\n")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob"])
        let ports = try TestCluster.freePorts(2)
        let alicePort = try cluster.startPeer("alice", metricsPort: ports[0])
        try cluster.startPeer("bob", metricsPort: ports[1])
        let size = 7 * (64 << 10) + 100
        let path = try cluster.writeFile("clip.bin", size: size)
        try cluster.expectSuccess(["share", "team", path], as: "alice")

        let before = try MetricsPage.fetch(port: ports[1])
        #expect(before.sum("tandem_peer_pieces_verified_total") == 0)
        #expect(before.sum("tandem_peer_downloads_active") == 0)
        let target = cluster.directory.appendingPathComponent("got").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try cluster.expectSuccess(["download", "team", "clip.bin", "--to", target], as: "bob")

        let bob = try MetricsPage.fetch(port: ports[1])
        let file = ["group": "team", "file": "clip.bin"]
        #expect(
            bob.sum("tandem_peer_received_bytes_total", file.merging(["from": "127.0.0.1:\(alicePort)"]) { $1 })
                == Double(size))
        #expect(bob.sum("tandem_peer_pieces_verified_total") == 8)
        #expect(bob.sum("tandem_peer_pieces_failed_total") == 0 && bob.sum("tandem_peer_bans_total") == 0)
        #expect(bob.sum("tandem_peer_downloads_active") == 0, "the download ended")
        #expect(bob.sum("tandem_peer_download_from_others_ratio", file) == 0, "all of it came from the first seeder")
        // alice's side: every byte sent, to bob; it is counted once written, so it may trail the download a moment.
        _ = try eventually("alice's metrics to count what she sent bob") {
            try MetricsPage.fetch(port: ports[0]).sum(
                "tandem_peer_sent_bytes_total", file.merging(["to": "bob"]) { $1 })
                == Double(size) ? true : nil
        }
    }
}
