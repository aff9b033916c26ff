import Foundation
import TandemTestKit
import Testing

/// `scripts/deploy` (Ansible, deploy/playbook.yml) onto hosts of the rig that have nothing of Tandem installed:
/// one command brings up the pair and a peer daemon, a second changes nothing, a changed port is rolled out.
@Suite(.enabled(if: Rig.unavailableReason == nil, "\(Rig.unavailableReason ?? "")"))
struct DeployTests {
    /// Writes a cluster.yaml for trackers on hosts 1 and 2 (client port `clientPort`), a peer daemon run by the
    /// account `seedbox` on host 3 when `withPeer`, and `extraYAML`, and its secret, into `directory`; returns
    /// the file's path.
    static func writeCluster(
        _ rig: Rig, clientPort: Int, in directory: URL, withPeer: Bool = true, extraYAML: String = ""
    ) throws -> String {
        var yaml = """
            cluster: { name: deployed, piece_size: 64KiB, secret_file: cluster.secret }
            trackers:
              - { id: t1, host: \(try rig.address(1)), client_port: \(clientPort), sync_port: 7201, data_dir: /var/lib/tandem/t1 }
              - { id: t2, host: \(try rig.address(2)), client_port: \(clientPort), sync_port: 7201, data_dir: /var/lib/tandem/t2 }

            """
        if withPeer {
            yaml += """
                peers:
                  - { host: \(try rig.address(3)), user: seedbox, port: 7301, metrics_port: 9301 }

                """
        }
        yaml += extraYAML.isEmpty ? "" : extraYAML + "\n"
        let path = directory.appendingPathComponent("cluster.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let secret = directory.appendingPathComponent("cluster.secret").path
        if !FileManager.default.fileExists(atPath: secret) {
            guard
                FileManager.default.createFile(
                    atPath: secret, contents: Data(String(repeating: "5a", count: 32).utf8),
                    attributes: [.posixPermissions: 0o600])
            else { throw SocketError(description: "cannot write \(secret)") }
        }
        return path
    }

    /// Runs `scripts/deploy` for `config` with `binaries` (this build's by default); its output when it
    /// succeeded.
    static func deploy(_ rig: Rig, config: String, binaries: URL = Binaries.directory) throws -> String {
        let result = try TestCluster.run(
            Rig.checkout.appendingPathComponent("scripts/deploy"),
            ["--config", config, "--bin-dir", binaries.path, "--ssh-config", rig.sshConfig.path],
            stdin: nil, in: URL(fileURLWithPath: config).deletingLastPathComponent(),
            environment: ["PYTHONUNBUFFERED": "1"], timeout: .seconds(300))
        guard result.status == 0 else { throw SocketError(description: "scripts/deploy failed: \(result)") }
        return result.stdout
    }

    /// What the play recap says each host had changed, by host address.
    static func changed(in output: String) -> [String: Int] {
        var changed: [String: Int] = [:]
        for match in output.matches(of: #/(?m)^(\S+)\s+: ok=\d+\s+changed=(\d+)/#) {
            changed[String(match.output.1)] = Int(match.output.2)
        }
        return changed
    }

    @Test func oneCommandDeploysThePairARerunChangesNothingAndANewPortRollsOut() throws {
        let rig = try Rig(hosts: 3, installingBinaries: false)
        defer { rig.tearDown() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deploy-\(rig.name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let hosts = [try rig.address(1), try rig.address(2), try rig.address(3)]

        // The first run installs everything and waits for the pair: it is there as soon as it returns.
        var config = try Self.writeCluster(rig, clientPort: 7101, in: directory)
        let first = try Self.deploy(rig, config: config)
        #expect(hosts.allSatisfy { (Self.changed(in: first)[$0] ?? 0) > 0 }, "\(first)")
        let primary = try #require(TestCluster.status(host: hosts[0], port: 7101), "t1 answers")
        #expect(primary["role"] == "primary" && primary["backup"] == "in_sync", "\(primary)")
        #expect(!FileManager.default.fileExists(atPath: rig.etc(3).appendingPathComponent("cluster.secret").path))
        for host in 1...2 {
            let secret = rig.etc(host).appendingPathComponent("cluster.secret").path
            let attributes = try FileManager.default.attributesOfItem(atPath: secret)
            #expect(
                attributes[.posixPermissions] as? Int == 0o600 && attributes[.ownerAccountName] as? String == "tandem")
            let unit = try String(
                contentsOf: rig.units(host).appendingPathComponent("tandemd-tracker@.service"), encoding: .utf8)
            #expect(unit.contains("ProtectSystem=strict") && unit.contains("ReadWritePaths=/var/lib/tandem/t\(host)"))
            // The tracker runs as the unit says: as its own user, with the unit's command line.
            let process = try rig.run(host, ["pgrep", "-u", "tandem", "-a", "tandemd"])
            #expect(
                process.stdout.contains("tandemd tracker --config /etc/tandem/cluster.yaml --id t\(host)"), "\(process)"
            )
        }

        // The peer daemon runs as its account, with the unit's command line, and serves its metrics; once an
        // account of the cluster logs in as it, what it shares is served from there.
        let peer = try rig.run(3, ["pgrep", "-u", "seedbox", "-a", "tandemd"])
        #expect(
            peer.stdout.contains(
                "tandemd peer --config /etc/tandem/cluster.yaml --home /var/lib/tandem/peers/seedbox --host \(hosts[2]) "
                    + "--port 7301 --metrics-port 9301"), "\(peer)")
        #expect(try MetricsPage.fetch(host: hosts[2], port: 9301).sum("tandem_peer_downloads_active") == 0)
        let asSeedbox = [
            "runuser", "-u", "seedbox", "--", "/usr/local/bin/tandemctl", "--config", "/etc/tandem/cluster.yaml",
            "--home", "/var/lib/tandem/peers/seedbox",
        ]
        try Data("build artefact".utf8).write(to: rig.varLib(3).appendingPathComponent("peers/seedbox/build.tar"))
        for command in [["create-user", "builder", "--password-stdin"], ["login", "builder", "--password-stdin"]] {
            #expect(try rig.run(3, asSeedbox + command, stdin: "pw\n").status == 0)
        }
        #expect(try rig.run(3, asSeedbox + ["create-group", "builds"]).status == 0)
        let shared = try rig.run(3, asSeedbox + ["share", "builds", "/var/lib/tandem/peers/seedbox/build.tar"])
        #expect(shared.status == 0, "\(shared)")
        let files = try rig.run(3, asSeedbox + ["list-files", "builds", "--json"])
        #expect(files.stdout.contains("\"seeders\":1"), "\(files)")

        // Again, unchanged: nothing changes on any host.
        let second = try Self.deploy(rig, config: config)
        #expect(
            Self.changed(in: second) == [hosts[0]: 0, hosts[1]: 0, hosts[2]: 0, "localhost": 0], "\(second)")

        // New binaries, under eight writers: one host at a time, the primary handing its role over first; no
        // write fails and none is lost.
        let upgrade = directory.appendingPathComponent("new-binaries")
        try FileManager.default.createDirectory(at: upgrade, withIntermediateDirectories: true)
        for binary in ["tandemd", "tandemctl"] {
            try FileManager.default.copyItem(
                at: Binaries.directory.appendingPathComponent(binary), to: upgrade.appendingPathComponent(binary))
        }
        // A byte after the ELF image: another file to the deploy, the same program to the kernel.
        let handle = try FileHandle(forWritingTo: upgrade.appendingPathComponent("tandemd"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0x0A]))
        try handle.close()
        let ctl = { (arguments: [String], stdin: String?) in
            try TestCluster.run(
                Binaries.tandemctl,
                arguments + ["--config", config, "--home", directory.appendingPathComponent("user").path],
                stdin: stdin, in: directory)
        }
        #expect(try ctl(["create-user", "wendy", "--password-stdin"], "pw\n").status == 0)
        #expect(try ctl(["login", "wendy", "--password-stdin"], "pw\n").status == 0)
        let load = WriteLoad(configPath: config, directory: directory, writers: 8)
        load.start()
        defer { load.stop() }  // A test that fails early must not leave the writers running.
        _ = try eventually("writes before the upgrade") { load.acknowledged.count > 16 ? true : nil }
        let upgraded = try Self.deploy(rig, config: config, binaries: upgrade)
        #expect(upgraded.contains("Hand the primary role to the other tracker first"), "\(upgraded)")
        let during = load.acknowledged.count
        _ = try eventually("writes after the upgrade") { load.acknowledged.count > during + 16 ? true : nil }
        let acknowledged = load.stop()
        #expect(load.failures.isEmpty, "writes that failed: \(load.failures.prefix(5))")
        for host in 1...2 {
            let installed = try Data(contentsOf: rig.bin(host).appendingPathComponent("tandemd"))
            #expect(installed.last == 0x0A, "host \(host) runs the new tandemd")
        }
        let listed = try ctl(["list-groups", "--json"], nil).stdout
        let groups = try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]] ?? []
        let missing = acknowledged.subtracting(groups.compactMap { $0["name"] as? String })
        #expect(missing.isEmpty, "\(missing.count) acknowledged writes are gone: \(missing.prefix(5))")

        // A new client port: the trackers restart with it, and the pair serves on it.
        config = try Self.writeCluster(rig, clientPort: 7102, in: directory)
        _ = try Self.deploy(rig, config: config)
        // Both trackers restarted; either may lead now.
        let moved = hosts.prefix(2).compactMap { TestCluster.status(host: $0, port: 7102) }
        #expect(moved.count == 2, "both trackers answer on the new port")
        #expect(moved.contains { $0["role"] == "primary" && $0["backup"] == "in_sync" }, "\(moved)")
        #expect(TestCluster.status(host: hosts[0], port: 7101) == nil, "nothing answers on the old port")
    }
}
