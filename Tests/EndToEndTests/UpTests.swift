import Foundation
import TandemTestKit
import Testing

/// `tandemctl up` runs the local trackers of cluster.yaml in the foreground.
@Suite(.serialized)
struct UpTests {
    @Test func upStartsBothTrackersAndStopsThemOnSIGTERM() throws {
        let cluster = try TestCluster()
        try FileManager.default.removeItem(at: cluster.directory.appendingPathComponent("cluster.secret"))
        let up = try cluster.launch(Binaries.tandemctl, ["up", "--config", cluster.configPath], log: "up")
        try cluster.waitUntilAccepting("t1", while: up)
        try cluster.waitUntilAccepting("t2", while: up)

        let secret = cluster.directory.appendingPathComponent("cluster.secret").path
        let mode = try FileManager.default.attributesOfItem(atPath: secret)[.posixPermissions] as? Int
        #expect(mode == 0o600, "up creates the secret, private")
        let pid = try String(
            contentsOf: cluster.directory.appendingPathComponent("data/t1/tandemd.pid"), encoding: .utf8)
        #expect(Int32(pid.trimmingCharacters(in: .whitespacesAndNewlines)) != nil)
        #expect(try cluster.ctl(["create-user", "hal", "--password-stdin"], stdin: "pw\n").status == 0)

        up.send(SIGTERM)
        #expect(try up.wait(timeout: .seconds(20)) == .exited(0), "\(cluster.log("up"))")
        #expect((try? LineSocket(port: cluster.clientPorts["t1"]!)) == nil, "t1 stopped with up")
        #expect((try? LineSocket(port: cluster.clientPorts["t2"]!)) == nil, "t2 stopped with up")
        let log = cluster.log("up")
        #expect(log.contains("[t1] ") && log.contains("[t2] "), "tracker output is prefixed: \(log)")
    }

    @Test(arguments: ["kill-primary", "restart-backup"])
    func aDrillOnTheClusterOfUpPassesAndUpRestartsTheKilledTracker(drill: String) throws {
        let cluster = try TestCluster(
            extraYAML: "replication:\n  heartbeat: 50ms\n  failover_timeout: 500ms\n")
        let up = try cluster.launch(Binaries.tandemctl, ["up", "--config", cluster.configPath], log: "up")
        try cluster.waitUntilAccepting("t1", while: up)
        try cluster.waitUntilAccepting("t2", while: up)
        try cluster.waitForPair(primary: "t1")

        let result = try cluster.ctl(["drill", drill, "--writers", "4"])
        #expect(result.status == 0, "\(result)\n\(cluster.log("up").suffix(3000))")
        let victim = drill == "kill-primary" ? "t1" : "t2"
        #expect(result.stdout.contains("fault: kill -9 \(victim)"))
        #expect(result.stdout.contains("\(victim) restarted by tandemctl up"))
        #expect(result.stdout.contains("\(victim) caught up: backup in sync"))
        if drill == "kill-primary" { #expect(result.stdout.contains("t2 promoted itself")) }
        #expect(result.stdout.contains("; 0 lost") && result.stdout.hasSuffix("PASS\n"), "\(result.stdout)")
        #expect(cluster.log("up").contains("[up] \(victim) was killed by signal 9; starting it again"))

        // The drill dissolved its groups: another user's list has none of them, and --mine lists only its own.
        #expect(result.stdout.contains("clean-up: dissolved the "), "\(result.stdout)")
        try cluster.signUp("erin", home: "erin")
        try cluster.expectSuccess(["create-group", "erins"], as: "erin")
        let all = try cluster.expectSuccess(["list-groups"], as: "erin").stdout
        #expect(!all.contains("drill-"), "\(all)")
        try cluster.signUp("frank", home: "frank")
        #expect(try cluster.expectSuccess(["list-groups", "--mine"], as: "frank").stdout.contains("erins") == false)
        #expect(try cluster.expectSuccess(["list-groups", "--mine"], as: "erin").stdout.contains("erins"))

        up.send(SIGTERM)
        #expect(try up.wait(timeout: .seconds(20)) == .exited(0), "\(cluster.log("up").suffix(3000))")
    }

    @Test func aDrillWithoutUpSaysWhatItNeeds() throws {
        let cluster = try TestCluster()
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        let result = try cluster.ctl(["drill", "kill-primary"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("tandemd.pid") && result.stderr.contains("tandemctl up"), "\(result.stderr)")
        #expect(cluster.status("t1")?["role"] == "primary", "nothing was killed")
    }
}
