import Foundation
import TandemTestKit
import Testing

/// `tandemctl log` on a real tracker's data directory: every op, secrets redacted, torn tails shown.
@Suite(.serialized)
struct CtlLogTests {
    @Test func theLogShowsEveryOpWithSecretsRedacted() throws {
        let cluster = try TestCluster()
        try cluster.start()
        #expect(try cluster.ctl(["create-user", "ada", "--password-stdin"], stdin: "s3cret-pw\n").status == 0)
        #expect(try cluster.ctl(["login", "ada", "--password-stdin"], stdin: "s3cret-pw\n").status == 0)
        #expect(try cluster.ctl(["create-group", "lab"]).status == 0)
        let token = try String(
            contentsOfFile: cluster.directory.appendingPathComponent("user/session").path, encoding: .utf8)
        #expect(try cluster.stop() == 0)

        let text = try cluster.ctl(["log", "--tracker", "t1"])
        #expect(text.status == 0, "\(text)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(lines)")
        #expect(lines[0] == "seq 1  epoch 2  epoch_start", "the first tracker's first epoch begins")
        // Each write shows when the tracker took it, and carries the id of the tandemctl that sent it and its
        // request number (the dedupe key).
        let time = #/^seq \d  epoch 2  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  /#
        let origin = #/ client=[0-9a-f]{16} request=1$/#
        let withoutTime = lines.map { $0.replacing(time, with: "") }
        #expect(withoutTime[1].hasPrefix("create_user  user=ada password=<redacted> client="))
        #expect(withoutTime[2].hasPrefix("open_session  user=ada token=<redacted> client="))
        #expect(withoutTime[3].hasPrefix("create_group  group=lab owner=ada client="))
        #expect(lines[1...3].allSatisfy { $0.contains(time) && $0.contains(origin) }, "\(lines)")
        #expect(!text.stdout.contains(token.trimmingCharacters(in: .whitespacesAndNewlines)))

        let json = try cluster.ctl(["log", "--tracker", "t1", "--json", "--from", "4"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["op"] as? String == "create_group")
        #expect(object?["seq"] as? Int == 4)
        #expect((object?["fields"] as? [String: String])?["group"] == "lab")
        #expect(
            (object?["time"] as? String)?.contains(time) == false
                && (object?["time"] as? String)?.hasSuffix("Z") == true)
    }

    @Test func aTornTailIsShownAndAMissingDirectoryIsAUsageError() throws {
        let cluster = try TestCluster()
        try cluster.start()
        #expect(try cluster.ctl(["create-user", "bo", "--password-stdin"], stdin: "pw\n").status == 0)
        #expect(try cluster.stop() == 0)
        let dataDir = cluster.directory.appendingPathComponent("data/t1")
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: dataDir.path).first { $0.hasPrefix("wal-") })
        let handle = try FileHandle(forWritingTo: dataDir.appendingPathComponent(segment))
        handle.seekToEndOfFile()
        handle.write(Data([0, 0, 0, 9, 1, 2, 3]))
        try handle.close()

        let log = try cluster.ctl(["log", "--data-dir", dataDir.path])
        #expect(log.status == 0, "\(log)")
        #expect(log.stdout.contains("create_user  user=bo"))
        #expect(log.stdout.contains("\(segment): torn at byte"))

        let missing = try cluster.ctl(["log", "--data-dir", "/nonexistent/tandem"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("does not exist"))
        #expect(try cluster.ctl(["log"]).status == 2, "a log must be named")
    }

    @Test func followPrintsOpsAsTheyAreLogged() throws {
        let cluster = try TestCluster()
        try cluster.start()
        #expect(try cluster.ctl(["create-user", "cy", "--password-stdin"], stdin: "pw\n").status == 0)
        let follower = try cluster.launch(
            Binaries.tandemctl, ["log", "--config", cluster.configPath, "--tracker", "t1", "--follow"], log: "follow")
        defer { follower.kill() }
        _ = try eventually("the existing op printed") {
            cluster.log("follow").contains("create_user  user=cy") ? true : nil
        }
        #expect(try cluster.ctl(["login", "cy", "--password-stdin"], stdin: "pw\n").status == 0)
        #expect(try cluster.ctl(["create-group", "late"]).status == 0)
        _ = try eventually("the new op printed") {
            cluster.log("follow").contains(#/seq 4  epoch 2  \S+  create_group  group=late owner=cy/#) ? true : nil
        }
        #expect(follower.isRunning)
    }

    /// A cluster file like the test cluster's, as a host without t1's data directory sees it, with `secret`.
    static func elsewhere(_ cluster: TestCluster, secret: String, name: String) throws -> String {
        let text = try String(contentsOfFile: cluster.configPath, encoding: .utf8)
            .replacingOccurrences(of: "data_dir: data/t1", with: "data_dir: /nonexistent/tandem/t1")
            .replacingOccurrences(of: "secret_file: cluster.secret", with: "secret_file: \(name).secret")
        let path = cluster.directory.appendingPathComponent("\(name).yaml").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        try secret.write(
            toFile: cluster.directory.appendingPathComponent("\(name).secret").path, atomically: false,
            encoding: .utf8)
        return path
    }

    @Test func aRunningTrackersLogIsReadOverTheNetworkOnlyWithTheSecret() throws {
        let cluster = try TestCluster()
        try cluster.start()
        try cluster.signUp("dee")
        let remote = try Self.elsewhere(
            cluster, secret: String(decoding: cluster.secret, as: UTF8.self), name: "remote")
        let home = cluster.home("remote")
        let read = try TestCluster.run(
            Binaries.tandemctl, ["log", "--config", remote, "--home", home, "--tracker", "t1"], stdin: nil,
            in: cluster.directory)
        #expect(read.status == 0, "\(read)")
        let lines = read.stdout.split(separator: "\n")
        #expect(lines.count == 3 && lines[0] == "seq 1  epoch 2  epoch_start", "\(read.stdout)")
        #expect(read.stdout.contains("create_user  user=dee password=<redacted>"))
        #expect(read.stdout.contains("open_session  user=dee token=<redacted>"))

        let wrong = try Self.elsewhere(cluster, secret: "not the cluster secret at all....", name: "wrong")
        let refused = try TestCluster.run(
            Binaries.tandemctl, ["log", "--config", wrong, "--home", home, "--tracker", "t1"], stdin: nil,
            in: cluster.directory)
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("READ_LOG needs the cluster secret"), "\(refused)")
        #expect(refused.stdout.isEmpty)

        // Followed over the network: the ops logged later come, then --limit ends it.
        let follower = try cluster.launch(
            Binaries.tandemctl,
            ["log", "--config", remote, "--home", home, "--tracker", "t1", "--follow", "--limit", "4", "--json"],
            log: "remote-follow")
        defer { follower.kill() }
        _ = try eventually("the existing ops printed") {
            cluster.log("remote-follow").contains("open_session") ? true : nil
        }
        #expect(try cluster.ctl(["create-group", "far"]).status == 0)
        #expect(try follower.wait(timeout: .seconds(20)) == .exited(0))
        let last = try #require(cluster.log("remote-follow").split(separator: "\n").last)
        let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        #expect(object?["op"] as? String == "create_group" && object?["seq"] as? Int == 4, "\(last)")
    }

    @Test func aStoppedTrackersLogIsReadFromItsDataDirectoryHere() throws {
        let cluster = try TestCluster()
        try cluster.start()
        #expect(try cluster.ctl(["create-user", "eve", "--password-stdin"], stdin: "pw\n").status == 0)
        #expect(try cluster.stop() == 0)
        let log = try cluster.ctl(["log", "--tracker", "t1"])
        #expect(log.status == 0, "\(log)")
        #expect(log.stderr.contains("t1 does not answer; reading its data_dir"), "\(log)")
        #expect(log.stdout.contains("create_user  user=eve"))

        let remote = try Self.elsewhere(
            cluster, secret: String(decoding: cluster.secret, as: UTF8.self), name: "remote")
        let nowhere = try TestCluster.run(
            Binaries.tandemctl, ["log", "--config", remote, "--home", cluster.home("remote"), "--tracker", "t1"],
            stdin: nil, in: cluster.directory)
        #expect(nowhere.status == 3, "neither answering nor here: \(nowhere)")
    }
}
