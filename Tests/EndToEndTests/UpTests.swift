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

        kill(up.processIdentifier, SIGTERM)
        _ = try eventually("tandemctl up to exit") { up.isRunning ? nil : true }
        #expect(up.terminationStatus == 0, "\(cluster.log("up"))")
        #expect((try? LineSocket(port: cluster.clientPorts["t1"]!)) == nil, "t1 stopped with up")
        #expect((try? LineSocket(port: cluster.clientPorts["t2"]!)) == nil, "t2 stopped with up")
        let log = cluster.log("up")
        #expect(log.contains("[t1] ") && log.contains("[t2] "), "tracker output is prefixed: \(log)")
    }
}
