import Foundation
import TandemTestKit
import Testing

/// The swarm across five rig hosts (the tracker pair on two, three users on the others), every user host's link
/// shaped: two downloads at once trade pieces with each other, and survive `kill -9` of the primary tracker.
@Suite(.enabled(if: Rig.unavailableReason == nil, "\(Rig.unavailableReason ?? "")"))
struct SwarmAcrossHostsTests {
    static let users = [3: "alice", 4: "bob", 5: "carol"]
    static let piecePort = 7301
    static let metricsPort = 9301

    /// Starts `user`'s peer daemon on `host`, serving pieces and metrics on fixed ports of the host's address.
    static func startPeer(_ rig: Rig, _ host: Int, logs: URL) throws {
        let user = Self.users[host]!
        let address = try rig.address(host)
        try rig.launch(
            host,
            [
                "/usr/local/bin/tandemd", "peer", "--config", MultiHostTests.config, "--home",
                "/var/lib/tandem/\(user)",
                "--host", address, "--port", String(Self.piecePort), "--metrics-port", String(Self.metricsPort),
            ],
            log: logs.appendingPathComponent("peer-\(user).log"))
        _ = try eventually("\(user)'s peer daemon to serve metrics") {
            try? MetricsPage.fetch(host: address, port: Self.metricsPort)
        }
    }

    @Test func twoDownloadsAtOnceTradeWithEachOtherAndOutliveThePrimary() throws {
        let (rig, trackers, logs) = try MultiHostTests.cluster(hosts: 5)
        defer { rig.tearDown() }
        let primary = try eventually("a primary with its backup in sync", timeout: .seconds(30)) { () -> Int? in
            (1...2).first { MultiHostTests.status(rig, tracker: $0)?["role"] == "primary" }
                .flatMap { MultiHostTests.status(rig, tracker: $0)?["backup"] == "in_sync" ? $0 : nil }
        }
        for (host, user) in Self.users.sorted(by: { $0.key < $1.key }) {
            try MultiHostTests.ctl(rig, host, user, ["create-user", user, "--password-stdin"], stdin: "pw\n")
            try MultiHostTests.ctl(rig, host, user, ["login", user, "--password-stdin"], stdin: "pw\n")
        }
        try MultiHostTests.ctl(rig, 3, "alice", ["create-group", "team"])
        for (host, user) in [(4, "bob"), (5, "carol")] {
            try MultiHostTests.ctl(rig, host, user, ["join-group", "team"])
            try MultiHostTests.ctl(rig, 3, "alice", ["accept-request", "team", user])
        }
        for host in 3...5 {
            try Self.startPeer(rig, host, logs: logs)
            try rig.shape(host, rate: "100mbit")
        }
        let contents = Data((0..<(32 << 20)).map { _ in UInt8.random(in: 0...255) })
        try contents.write(to: rig.varLib(3).appendingPathComponent("big.bin"))
        try MultiHostTests.ctl(rig, 3, "alice", ["share", "team", "/var/lib/tandem/big.bin"])

        // bob and carol download at once; the primary tracker is killed while they do.
        let downloads = try [(4, "bob"), (5, "carol")].map { host, user in
            try FileManager.default.createDirectory(
                at: rig.varLib(host).appendingPathComponent("get"), withIntermediateDirectories: true)
            return try rig.launch(
                host,
                [
                    "/usr/local/bin/tandemctl", "download", "team", "big.bin", "--to", "/var/lib/tandem/get",
                    "--config",
                    MultiHostTests.config, "--home", "/var/lib/tandem/\(user)",
                ],
                log: logs.appendingPathComponent("download-\(user).log"))
        }
        let bob = try rig.address(4)
        _ = try eventually("bob's first pieces") {
            (try? MetricsPage.fetch(host: bob, port: Self.metricsPort))?.sum("tandem_peer_pieces_verified_total") ?? 0
                > 0 ? true : nil
        }
        trackers[primary - 1].send(SIGKILL)
        for (download, host) in zip(downloads, [4, 5]) {
            #expect(try download.wait(timeout: .seconds(120)) == .exited(0), "logs in \(logs.path)")
            #expect(try Data(contentsOf: rig.varLib(host).appendingPathComponent("get/big.bin")) == contents)
        }
        try MultiHostTests.ctl(rig, 4, "bob", ["create-group", "after-failover"])

        // Peer to peer happened: each downloader received verified pieces from the other.
        let file = ["group": "team", "file": "big.bin"]
        for (host, other) in [(4, 5), (5, 4)] {
            let page = try MetricsPage.fetch(host: try rig.address(host), port: Self.metricsPort)
            let from = "\(try rig.address(other)):\(Self.piecePort)"
            let received = page.sum("tandem_peer_received_bytes_total", file.merging(["from": from]) { $1 })
            #expect(received > 0, "\(Self.users[host]!) got nothing from \(from): \(page.text)")
            #expect(page.sum("tandem_peer_download_from_others_ratio", file) > 0)
        }
    }
}
