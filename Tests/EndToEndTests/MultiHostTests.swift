import Foundation
import TandemTestKit
import Testing

/// The real binaries on separate hosts (network namespaces of `scripts/rig`, each with its own `/etc/tandem`,
/// `/var/lib/tandem` and installed binaries): the tracker pair on two hosts, two users on two others.
@Suite(.enabled(if: Rig.unavailableReason == nil, "\(Rig.unavailableReason ?? "")"))
struct MultiHostTests {
    static let config = "/etc/tandem/cluster.yaml"

    /// A rig of `hosts` hosts whose first two run trackers t1 and t2 (client port 7101, sync port 7201); every
    /// host has the cluster file, only the trackers' hosts the secret.
    static func cluster(hosts: Int) throws -> (rig: Rig, trackers: [ChildProcess], logs: URL) {
        let rig = try Rig(hosts: hosts)
        let yaml = """
            cluster: { name: rig, piece_size: 64KiB, secret_file: cluster.secret }
            trackers:
              - { id: t1, host: \(try rig.address(1)), client_port: 7101, sync_port: 7201, data_dir: /var/lib/tandem/t1 }
              - { id: t2, host: \(try rig.address(2)), client_port: 7101, sync_port: 7201, data_dir: /var/lib/tandem/t2 }
            swarm: { peer_timeout: 2s }

            """
        for host in 1...hosts {
            try yaml.write(to: rig.etc(host).appendingPathComponent("cluster.yaml"), atomically: true, encoding: .utf8)
        }
        let secret = String(repeating: "5a", count: 32)
        for host in 1...2 {
            let path = rig.etc(host).appendingPathComponent("cluster.secret").path
            guard
                FileManager.default.createFile(
                    atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600])
            else { throw SocketError(description: "cannot write \(path)") }
        }
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("rig-\(rig.name)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let trackers = try (1...2).map { host in
            try rig.launch(
                host, ["/usr/local/bin/tandemd", "tracker", "--config", Self.config, "--id", "t\(host)"],
                log: logs.appendingPathComponent("t\(host).log"))
        }
        return (rig, trackers, logs)
    }

    /// `tandemctl ARGS` on `host` as `user` (home `/var/lib/tandem/USER`), which must succeed.
    @discardableResult
    static func ctl(_ rig: Rig, _ host: Int, _ user: String, _ arguments: [String], stdin: String? = nil) throws
        -> CommandResult
    {
        let result = try rig.run(
            host,
            ["/usr/local/bin/tandemctl"] + arguments + ["--config", Self.config, "--home", "/var/lib/tandem/\(user)"],
            stdin: stdin)
        guard result.status == 0 else {
            throw SocketError(description: "tandemctl \(arguments.joined(separator: " ")) on host \(host): \(result)")
        }
        return result
    }

    /// Tracker `tracker`'s `STATUS` fields, asked over the rig's bridge; nil while it does not answer.
    static func status(_ rig: Rig, tracker: Int) -> [String: String]? {
        guard let address = try? rig.address(tracker) else { return nil }
        return TestCluster.status(host: address, port: 7101)
    }

    @Test func thePairAndTheSwarmWorkAcrossHostsAndSurviveKillingThePrimary() throws {
        let (rig, trackers, logs) = try Self.cluster(hosts: 4)
        // The trackers' logs stay in `logs`, a temporary directory, for when this fails.
        defer { rig.tearDown() }
        let primary = try eventually("a primary with its backup in sync, across hosts", timeout: .seconds(30)) {
            () -> Int? in
            (1...2).first { Self.status(rig, tracker: $0)?["role"] == "primary" }
                .flatMap { Self.status(rig, tracker: $0)?["backup"] == "in_sync" ? $0 : nil }
        }

        // alice on host 3 shares; bob on host 4 downloads from her peer daemon, across the bridge.
        try Self.ctl(rig, 3, "alice", ["create-user", "alice", "--password-stdin"], stdin: "pw\n")
        try Self.ctl(rig, 3, "alice", ["login", "alice", "--password-stdin"], stdin: "pw\n")
        try Self.ctl(rig, 3, "alice", ["create-group", "team"])
        try Self.ctl(rig, 4, "bob", ["create-user", "bob", "--password-stdin"], stdin: "pw\n")
        try Self.ctl(rig, 4, "bob", ["login", "bob", "--password-stdin"], stdin: "pw\n")
        try Self.ctl(rig, 4, "bob", ["join-group", "team"])
        try Self.ctl(rig, 3, "alice", ["accept-request", "team", "bob"])
        let contents = Data((0..<(3 << 20)).map { _ in UInt8.random(in: 0...255) })
        try contents.write(to: rig.varLib(3).appendingPathComponent("data.bin"))
        try Self.ctl(rig, 3, "alice", ["share", "team", "/var/lib/tandem/data.bin"])
        try FileManager.default.createDirectory(
            at: rig.varLib(4).appendingPathComponent("get"), withIntermediateDirectories: true)
        try Self.ctl(rig, 4, "bob", ["download", "team", "data.bin", "--to", "/var/lib/tandem/get"])
        #expect(try Data(contentsOf: rig.varLib(4).appendingPathComponent("get/data.bin")) == contents)
        // alice's daemon on host 3 sent every byte of it.
        let shares = try Self.ctl(rig, 3, "alice", ["shares", "--json"]).stdout
        let served = try JSONSerialization.jsonObject(with: Data(shares.utf8)) as? [[String: Any]]
        #expect(served?.first?["bytes_served"] as? Int == contents.count, "\(shares); logs in \(logs.path)")

        // kill -9 of the primary's process: the other host's tracker takes over, and writes from host 4 go on.
        trackers[primary - 1].send(SIGKILL)
        let survivor = primary == 1 ? 2 : 1
        _ = try eventually("t\(survivor) to take over", timeout: .seconds(30)) {
            Self.status(rig, tracker: survivor)?["role"] == "primary" ? true : nil
        }
        try Self.ctl(rig, 4, "bob", ["create-group", "after-failover"])
        let groups = try Self.ctl(rig, 3, "alice", ["list-groups"]).stdout
        #expect(groups.contains("after-failover"))
    }

    @Test func aHostReachesTheRigAndNothingElse() throws {
        let rig = try Rig(hosts: 2)
        defer { rig.tearDown() }
        let reach = try rig.run(1, ["bash", "-c", "timeout 3 bash -c 'echo > /dev/tcp/\(try rig.address(2))/22'"])
        #expect(reach.status == 0, "host 1 cannot reach host 2's sshd: \(reach)")
        // No default route, and no route to any address off the rig's subnet (asked of the kernel: nothing sent).
        #expect(try rig.run(1, ["ip", "route", "show", "default"]).stdout.isEmpty)
        #expect(try rig.run(1, ["ip", "route", "get", "198.19.255.1"]).status != 0)
        #expect(try rig.run(1, ["ip", "route", "get", try rig.address(2)]).status == 0)
        // The hosts' own directories: a file on host 1 is not on host 2.
        try Data("one".utf8).write(to: rig.etc(1).appendingPathComponent("only-here"))
        #expect(try rig.run(1, ["test", "-f", "/etc/tandem/only-here"]).status == 0)
        #expect(try rig.run(2, ["test", "-f", "/etc/tandem/only-here"]).status != 0)
    }
}
