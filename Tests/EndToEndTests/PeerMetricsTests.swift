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

    /// `tandemctl swarm` reads the counters of the peers cluster.yaml lists: who holds the file, who sent whom what.
    @Test func swarmShowsWhoHoldsTheFileAndWhoSentWhomWhat() throws {
        let ports = try TestCluster.freePorts(3)
        let users = ["alice", "bob", "carol"]
        let peers = zip(users, ports).map { "  - { host: 127.0.0.1, user: \($0), metrics_port: \($1) }" }
        let cluster = try TestCluster(
            pieceSize: "64KiB",
            extraYAML: "swarm: { peer_timeout: 2s }\npeers:\n" + peers.joined(separator: "\n") + "\n")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob", "carol"])
        for (user, port) in zip(users, ports) { try cluster.startPeer(user, metricsPort: port) }
        let size = 40 * (64 << 10)
        let path = try cluster.writeFile("clip.bin", size: size)
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        for user in ["bob", "carol"] {
            let target = cluster.directory.appendingPathComponent("got-\(user)").path
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            try cluster.expectSuccess(["download", "team", "clip.bin", "--to", target], as: user)
        }

        // What was sent is counted once written, so it may trail what was received; a piece asked of two peers
        // near the end may come twice, so both may pass the two copies' size.
        let report = try eventually("the senders' counts to catch up with the receivers'") { () -> [String: Any]? in
            let json = try cluster.expectSuccess(["swarm", "team", "clip.bin", "--json"], as: "bob").stdout
            guard let report = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
                let rows = report["peers"] as? [[String: Any]]
            else { return nil }
            let sent = rows.compactMap { $0["sent"] as? Int }.reduce(0, +)
            let received = rows.compactMap { $0["received"] as? Int }.reduce(0, +)
            return sent >= received && received >= 2 * size ? report : nil
        }
        let rows = try #require(report["peers"] as? [[String: Any]])
        let byUser = Dictionary(uniqueKeysWithValues: rows.map { ($0["user"] as? String ?? "?", $0) })
        #expect(report["size"] as? Int == size && report["pieces"] as? Int == 40)
        #expect(byUser["alice"]?["seeder"] as? Bool == true && byUser["alice"]?["holds"] as? Int == size)
        for user in ["bob", "carol"] {
            #expect(byUser[user]?["holds"] as? Int == size, "\(user) holds the whole file")
            #expect((byUser[user]?["received"] as? Int ?? 0) >= size)
            let from = try #require(byUser[user]?["received_from"] as? [String: Int])
            #expect(from.keys.allSatisfy { users.contains($0) }, "every address named as its user: \(from)")
            let sentByAlice = (byUser["alice"]?["sent_to"] as? [String: Int])?[user] ?? 0
            #expect(sentByAlice >= from["alice"] ?? 0, "alice sent \(user) at least what \(user) verified from her")
        }

        let text = try cluster.expectSuccess(["swarm", "team", "clip.bin"], as: "carol").stdout
        #expect(text.hasPrefix("team/clip.bin: 2.5 MiB in 40 pieces; the tracker lists "), "\(text)")
        #expect(text.contains("alice  127.0.0.1  2.5 MiB (seeder)"), "\(text)")
        #expect(text.contains("SENT BY \\ TO"), "\(text)")

        let missing = try cluster.ctl(["swarm", "team", "nothing.bin"], home: "carol")
        #expect(missing.status == 1 && missing.stderr.contains("nothing.bin"), "\(missing)")
    }
}
