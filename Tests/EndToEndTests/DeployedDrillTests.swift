import Foundation
import TandemTestKit
import Testing

/// `tandemctl drill` against a pair that `scripts/deploy` installed on two hosts of the rig: it signals the
/// trackers and cuts their link over ssh, their supervisor restarts a killed one, and what it reports matches the
/// trackers' logs.
@Suite(.enabled(if: Rig.unavailableReason == nil, "\(Rig.unavailableReason ?? "")"))
struct DeployedDrillTests {
    @Test func killAndPartitionDrillsReachTheTrackersOnTheirHosts() throws {
        let rig = try Rig(hosts: 2, installingBinaries: false)
        defer { rig.tearDown() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drill-\(rig.name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try DeployTests.writeCluster(
            rig, clientPort: 7101, in: directory, withPeer: false, extraYAML: PairFailoverTests.fastFailover)
        _ = try DeployTests.deploy(rig, config: config)
        let ctl = { (arguments: [String]) in
            try TestCluster.run(
                Binaries.tandemctl,
                arguments + [
                    "--config", config, "--home", directory.appendingPathComponent("user").path,
                ],
                stdin: nil, in: directory, timeout: .seconds(180))
        }
        let ssh = ["--ssh-config", rig.sshConfig.path]

        // Tracker `n` runs on host `n`; the deploy returns once one of them is primary with the other in sync.
        let hosts = [try rig.address(1), try rig.address(2)]
        let first = try #require(TestCluster.status(host: hosts[0], port: 7101), "t1 answers")
        let (primary, backup) = first["role"] == "primary" ? (1, 2) : (2, 1)

        // kill -9 of the primary's process on its host: the backup takes over, the supervisor on the primary's
        // host starts it again, and it catches up.
        let pidBefore = try #require(TestCluster.status(host: hosts[primary - 1], port: 7101)?["pid"])
        let kill = try ctl(["drill", "kill-primary", "--writers", "4"] + ssh)
        #expect(kill.status == 0, "\(kill)")
        #expect(kill.stdout.contains("fault: kill -9 t\(primary), the primary (pid \(pidBefore))"), "\(kill.stdout)")
        #expect(kill.stdout.contains("t\(backup) promoted itself"), "\(kill.stdout)")
        #expect(kill.stdout.contains("t\(primary) restarted by its service manager"), "\(kill.stdout)")
        #expect(kill.stdout.contains("t\(primary) caught up"), "\(kill.stdout)")
        #expect(kill.stdout.contains("loss check: ") && kill.stdout.contains("; 0 lost"), "\(kill.stdout)")
        let pidAfter = try #require(TestCluster.status(host: hosts[primary - 1], port: 7101)?["pid"])
        #expect(pidAfter != pidBefore)
        #expect(try rig.run(primary, ["kill", "-0", pidBefore]).status != 0, "the killed process is gone")

        // The roles swapped. A partition between the hosts, cut on the new backup's host: the account matches
        // the live logs.
        let drill = try ctl(["drill", "partition", "2", "--writers", "2"] + ssh)
        #expect(drill.status == 0 || drill.status == 1, "\(drill)")
        let lines = drill.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.contains {
                $0.contains("fault: the sync link cut both ways between t\(backup) and t\(primary)")
                    && $0.contains("by nftables on \(hosts[primary - 1])")
            }, "\(drill.stdout)")
        #expect(lines.contains { $0.contains("t\(primary) promoted itself") }, "\(drill.stdout)")
        #expect(lines.contains { $0.contains("with its backup in sync") }, "\(drill.stdout)")
        #expect(
            try rig.run(primary, ["nft", "list", "table", "inet", "tandem_drill"]).status != 0, "the rules are gone")
        var acknowledged = 0
        var lost = 0
        for id in ["t1", "t2"] {
            let line = try #require(lines.first { $0.hasPrefix("\(id) acknowledged ") }, "\(drill.stdout)")
            let match = try #require(line.firstMatch(of: #/acknowledged (\d+) writes .*: (\d+) kept, (\d+) lost/#))
            let (total, kept, gone) = (Int(match.1)!, Int(match.2)!, Int(match.3)!)
            #expect(total == kept + gone && total > 0, "\(line)")
            acknowledged += total
            lost += gone
        }
        #expect(drill.status == (lost == 0 ? 0 : 1))
        let live = try PartitionDrillTests.groups(inLogOf: "t1", ctl).union(
            try PartitionDrillTests.groups(inLogOf: "t2", ctl))
        let lostNames = lines.compactMap { $0.firstMatch(of: #/^  lost: (\S+), acknowledged by/#).map { String($0.1) } }
        #expect(lostNames.count == min(lost, 10), "the report names the first ten lost: \(drill.stdout)")
        #expect(lostNames.allSatisfy { !live.contains($0) }, "what the drill calls lost is in neither log")
        let check = lines.filter { $0.hasPrefix("loss check: ") }
        #expect(
            check == [
                "loss check: \(acknowledged - lost) of \(acknowledged) acknowledged writes are in the cluster; \(lost) lost"
            ], "\(drill.stdout)")
    }
}
