import Foundation
import TandemTestKit
import Testing

/// tandemctl and the peer daemon trust only a home that is the user's own: owned by them, writable by nobody
/// else. Before the fix, a home owned by another user (the README's `/tmp/alice`, made first by someone else) was
/// used as it was: its session fixed the victim's identity, and a link at `peer/shares.json.tmp` had its target
/// truncated by the next share.
@Suite(.serialized) struct HomeTrustTests {
    static func cluster() throws -> TestCluster {
        let cluster = try TestCluster(pieceSize: "64KiB")
        try cluster.start()
        return cluster
    }

    /// Starts `tandemd peer` on `home` and waits for it to exit; returns its status and what it printed.
    static func peerDaemon(home: String, in cluster: TestCluster) throws -> (status: Int32, output: String) {
        let process = try cluster.launch(
            Binaries.tandemd, ["peer", "--config", cluster.configPath, "--home", home], log: "refused-peer")
        let termination = try process.wait(timeout: .seconds(20))
        return (termination.status, cluster.log("refused-peer"))
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to give a directory to another user"))
    func aHomeOwnedBySomeoneElseIsRefused() throws {
        let cluster = try Self.cluster()
        try cluster.makeGroup("team", owner: "mallory", members: [])
        // Mallory made the victim's home first and left her own session in it.
        let home = cluster.home("victim")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: cluster.home("mallory") + "/session", toPath: home + "/session")
        #expect(chown(home, 65534, 65534) == 0 && chown(home + "/session", 65534, 65534) == 0)

        for arguments in [["whoami"], ["login", "victim", "--password-stdin"], ["shares"]] {
            let result = try cluster.ctl(arguments, home: "victim", stdin: "pw\n")
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(result.stderr.contains("refusing \(home): it belongs to uid 65534"), "\(arguments): \(result)")
            #expect(result.stderr.contains("use a directory of your own"), "\(result)")
        }
        let daemon = try Self.peerDaemon(home: home, in: cluster)
        #expect(daemon.status != 0 && daemon.output.contains("refusing \(home)"), "\(daemon)")
    }

    @Test func aHomeOthersMayWriteIsRefusedUntilItIsMadePrivate() throws {
        let cluster = try Self.cluster()
        try cluster.expectSuccess(
            ["create-user", "alice", "--password-stdin"], as: "alice", stdin: TestCluster.testPassword + "\n")
        let home = cluster.home("alice")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        #expect(chmod(home, 0o777) == 0)
        let refused = try cluster.ctl(["login", "alice", "--password-stdin"], home: "alice", stdin: "pw-for-tests\n")
        #expect(refused.status == 2, "\(refused)")
        #expect(refused.stderr.contains("group or others may write to it (mode 777)"), "\(refused)")
        #expect(refused.stderr.contains("chmod go-w \(home)"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: home + "/session"), "no session was written there")
        let daemon = try Self.peerDaemon(home: home, in: cluster)
        #expect(daemon.status != 0 && daemon.output.contains("group or others may write"), "\(daemon)")

        #expect(chmod(home, 0o755) == 0)
        try cluster.expectSuccess(["login", "alice", "--password-stdin"], as: "alice", stdin: "pw-for-tests\n")
        #expect(try cluster.expectSuccess(["whoami"], as: "alice").stdout.contains("alice"))
    }

    @Test func aLinkPlantedAtATemporaryNameIsNotWrittenThrough() throws {
        let cluster = try Self.cluster()
        try cluster.makeGroup("team", owner: "alice", members: [])
        try cluster.startPeer("alice")
        let victim = cluster.directory.appendingPathComponent("victim.txt").path
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let state = cluster.home("alice") + "/peer"
        try FileManager.default.createSymbolicLink(atPath: state + "/shares.json.tmp", withDestinationPath: victim)
        try FileManager.default.createSymbolicLink(
            atPath: cluster.home("alice") + "/session.tmp.\(getpid())", withDestinationPath: victim)

        let path = try cluster.writeFile("notes.bin", size: 1000)
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        try cluster.expectSuccess(["login", "alice", "--password-stdin"], as: "alice", stdin: "pw-for-tests\n")
        #expect(FileManager.default.contents(atPath: victim) == Data("precious\n".utf8))
        #expect(FileManager.default.contents(atPath: state + "/shares.json").map { $0.count > 0 } == true)
        let attributes = try FileManager.default.attributesOfItem(atPath: state)
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o077 } == 0, "the state directory is private")
        #expect(
            (try? FileManager.default.attributesOfItem(atPath: state + "/peer.sock"))?[.type] as? FileAttributeType
                == .typeSocket, "and the control socket is bound in it")
    }
}
