import Foundation
import TandemTestKit
import Testing

/// The swarm with real binaries: a tracker, peer daemons for several users, tandemctl.
@Suite(.serialized) struct SwarmEndToEndTests {
    static let pieceSize = 64 << 10

    /// A tracker, and `owner` with `members` in group `team`, each with a running peer daemon.
    static func swarm(owner: String = "alice", members: [String], extraYAML: String = "") throws -> TestCluster {
        let cluster = try TestCluster(pieceSize: "64KiB", extraYAML: "swarm: { peer_timeout: 2s }\n" + extraYAML)
        try cluster.start()
        try cluster.makeGroup("team", owner: owner, members: members)
        for user in [owner] + members { try cluster.startPeer(user) }
        return cluster
    }

    /// Whether one line of `log` has `message` with each of `metadata` (`key=value`).
    static func logged(_ message: String, _ metadata: [String], in log: String) -> Bool {
        log.split(separator: "\n").contains { line in
            line.contains(message) && metadata.allSatisfy { line.contains($0) }
        }
    }

    static func sha1(_ path: String) throws -> String {
        let result = try TestCluster.run(
            URL(fileURLWithPath: "/usr/bin/sha1sum"), [path], stdin: nil, in: URL(fileURLWithPath: "/"))
        return String(result.stdout.prefix(40))
    }

    /// `tandemctl downloads --json` as `user`: the download of `name`.
    static func download(_ name: String, of user: String, in cluster: TestCluster) throws -> [String: Any]? {
        let result = try cluster.expectSuccess(["downloads", "--json"], as: user)
        let list = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]
        return list?.first { $0["name"] as? String == name }
    }

    /// `tandemctl shares --json` as `user`: the share of `name`.
    static func share(_ name: String, of user: String, in cluster: TestCluster) throws -> [String: Any]? {
        let result = try cluster.expectSuccess(["shares", "--json"], as: user)
        let list = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]
        return list?.first { $0["name"] as? String == name }
    }

    /// The original flow: alice shares, bob downloads the same bytes and then seeds them too.
    @Test func aMemberDownloadsWhatAnotherShared() throws {
        let cluster = try Self.swarm(members: ["bob"])
        let path = try cluster.writeFile("report.bin", size: 5 * Self.pieceSize + 123)
        let shared = try cluster.expectSuccess(["share", "team", path], as: "alice")
        #expect(shared.stdout.contains("shared report.bin in team"))
        let target = cluster.directory.appendingPathComponent("bob-files").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let downloaded = try cluster.expectSuccess(["download", "team", "report.bin", "--to", target], as: "bob")
        #expect(downloaded.stdout.contains("downloaded report.bin"))
        #expect(try Self.sha1(target + "/report.bin") == Self.sha1(path))
        #expect(!FileManager.default.fileExists(atPath: target + "/report.bin.part"))
        let status = try #require(try Self.download("report.bin", of: "bob", in: cluster))
        #expect(status["state"] as? String == "complete")
        #expect(status["bytes_done"] as? Int == 5 * Self.pieceSize + 123)
        let files = try cluster.expectSuccess(["list-files", "team", "--json"], as: "bob").stdout
        #expect(files.contains("\"seeders\":2"), "bob registered as a seeder by himself: \(files)")
        #expect(try Self.share("report.bin", of: "alice", in: cluster)?["pieces_served"] as? Int == 6)
    }

    /// The original client's commands in `tandemctl shell`: upload_file, download_file, show_downloads, stop_share.
    @Test func theShellSharesAndDownloadsWithTheOriginalCommands() throws {
        let cluster = try Self.swarm(members: ["bob"])
        try cluster.expectSuccess(["logout"], as: "alice")
        try cluster.expectSuccess(["logout"], as: "bob")
        let path = try cluster.writeFile("notes.bin", size: 3 * Self.pieceSize + 7)
        let password = TestCluster.testPassword
        // A relative path, from the shell's working directory (the cluster directory).
        let upload = try cluster.ctl(
            ["shell"], home: "alice",
            stdin: "login alice \(password)\nupload_file notes.bin\nupload_file notes.bin team\n")
        #expect(upload.stdout.contains("usage: upload_file PATH GROUP"), "\(upload)")
        #expect(upload.stdout.contains("shared notes.bin in team"), "the shell's login lets the daemon act: \(upload)")

        let target = cluster.directory.appendingPathComponent("bob-files").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let download = try cluster.ctl(
            ["shell"], home: "bob", stdin: "login bob \(password)\ndownload_file team notes.bin bob-files\n")
        #expect(download.stdout.contains("downloading notes.bin to \(target)/notes.bin"), "\(download)")
        _ = try eventually("bob's download to complete") {
            try Self.download("notes.bin", of: "bob", in: cluster)?["state"] as? String == "complete" ? true : nil
        }
        #expect(try Self.sha1(target + "/notes.bin") == Self.sha1(path))
        let listed = try cluster.ctl(["shell"], home: "bob", stdin: "show_downloads\n")
        #expect(listed.stdout.contains("[C] [team] notes.bin"), "\(listed)")

        let stopped = try cluster.ctl(
            ["shell"], home: "alice", stdin: "login alice \(password)\nstop_share team notes.bin\nlogout\n")
        #expect(stopped.stdout.contains("stopped sharing notes.bin in team"), "\(stopped)")
        #expect(try cluster.ctl(["whoami"], home: "alice").status == 1, "the shell's logout forgot the stored session")
    }

    @Test(arguments: [0, 1, 64 << 10, (64 << 10) + 1])
    func filesOfEdgeSizesRoundTrip(size: Int) throws {
        let cluster = try Self.swarm(members: ["bob"])
        let path = try cluster.writeFile("edge-\(size).bin", size: size)
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        let target = cluster.directory.appendingPathComponent("out").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try cluster.expectSuccess(["download", "team", "edge-\(size).bin", "--to", target], as: "bob")
        let attributes = try FileManager.default.attributesOfItem(atPath: target + "/edge-\(size).bin")
        #expect(attributes[.size] as? Int == size)
        #expect(try Self.sha1(target + "/edge-\(size).bin") == Self.sha1(path))
    }

    /// Two seeders and a downloader: both seeders serve pieces, by their own counters.
    @Test func aDownloadDrawsOnEverySeeder() throws {
        let cluster = try Self.swarm(members: ["bob", "carol"])
        let pieces = 160
        let path = try cluster.writeFile("shared.bin", size: pieces * Self.pieceSize)
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        // Bob shares his own copy of the same bytes: he becomes the second seeder.
        let bobCopy = cluster.directory.appendingPathComponent("bob-copy.bin").path
        try FileManager.default.copyItem(atPath: path, toPath: bobCopy)
        let renamed = cluster.directory.appendingPathComponent("bob-dir").path
        try FileManager.default.createDirectory(atPath: renamed, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: bobCopy, toPath: renamed + "/shared.bin")
        try cluster.expectSuccess(["share", "team", renamed + "/shared.bin"], as: "bob")
        #expect(
            try cluster.expectSuccess(["list-files", "team", "--json"], as: "carol").stdout.contains("\"seeders\":2"))

        let target = cluster.directory.appendingPathComponent("carol-dir").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try cluster.expectSuccess(["download", "team", "shared.bin", "--to", target], as: "carol")
        #expect(try Self.sha1(target + "/shared.bin") == Self.sha1(path))
        let fromAlice = try #require(try Self.share("shared.bin", of: "alice", in: cluster)?["pieces_served"] as? Int)
        let fromBob = try #require(try Self.share("shared.bin", of: "bob", in: cluster)?["pieces_served"] as? Int)
        #expect(fromAlice > 0 && fromBob > 0, "alice served \(fromAlice), bob \(fromBob)")
        #expect(fromAlice + fromBob >= pieces)
    }

    /// A seeder that sends corrupt pieces is dropped and banned; the download completes from the honest one.
    @Test func aCorruptSeederIsBannedAndTheDownloadCompletes() throws {
        let cluster = try Self.swarm(members: ["bob", "mallory"])
        let path = try cluster.writeFile("data.bin", size: 40 * Self.pieceSize)
        let liar = try FakeSeeder(path: path, pieceSize: Self.pieceSize, behavior: .corrupt)
        defer { liar.stop() }
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        // While alice's daemon is away, only the liar serves.
        try cluster.stopPeer("alice")
        try Self.registerSeeder(liar.port, file: "data.bin", as: "mallory", in: cluster)

        let target = cluster.directory.appendingPathComponent("bob-dir").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try cluster.expectSuccess(["download", "team", "data.bin", "--to", target, "--detach"], as: "bob")
        _ = try eventually("bob to ban the liar") {
            Self.logged(
                "dropped and banned a serving peer", ["peer.address=127.0.0.1:\(liar.port)", "download.name=data.bin"],
                in: cluster.peerLog("bob")) ? true : nil
        }
        #expect(liar.requestCount >= 2, "the liar was asked for pieces")
        #expect(try Self.download("data.bin", of: "bob", in: cluster)?["state"] as? String == "waiting")

        try cluster.startPeer("alice")
        _ = try eventually("the download to complete from alice") {
            try Self.download("data.bin", of: "bob", in: cluster)?["state"] as? String == "complete" ? true : nil
        }
        #expect(try Self.sha1(target + "/data.bin") == Self.sha1(path))
    }

    /// A seeder that sends half a piece and then nothing is dropped after the peer timeout; the download says
    /// it waits for seeders instead of hanging, and completes once an honest one comes.
    @Test func aSeederThatStallsIsDroppedAndTheDownloadWaitsForAnother() throws {
        let cluster = try Self.swarm(members: ["bob", "mallory"])
        let path = try cluster.writeFile("slow.bin", size: 20 * Self.pieceSize)
        let staller = try FakeSeeder(path: path, pieceSize: Self.pieceSize, behavior: .halfThenStall)
        defer { staller.stop() }
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        try Self.registerSeeder(staller.port, file: "slow.bin", as: "mallory", in: cluster)
        try cluster.expectSuccess(["stop-share", "team", "slow.bin"], as: "alice")
        let target = cluster.directory.appendingPathComponent("bob-dir").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try cluster.expectSuccess(["download", "team", "slow.bin", "--to", target, "--detach"], as: "bob")
        let waiting = try eventually("the download to drop the staller and wait") { () -> [String: Any]? in
            let status = try Self.download("slow.bin", of: "bob", in: cluster)
            return status?["state"] as? String == "waiting" ? status : nil
        }
        #expect(waiting["pieces_done"] as? Int == 0)
        #expect((waiting["message"] as? String)?.contains("waiting for seeders") == true, "\(waiting)")
        #expect(
            Self.logged(
                "dropped a serving peer that sent nothing within the peer timeout",
                ["peer.address=127.0.0.1:\(staller.port)", "download.name=slow.bin"], in: cluster.peerLog("bob")))

        try cluster.expectSuccess(["share", "team", path], as: "alice")
        _ = try eventually("the download to complete from alice") { () -> Bool? in
            try Self.download("slow.bin", of: "bob", in: cluster)?["state"] as? String == "complete" ? true : nil
        }
        #expect(try Self.sha1(target + "/slow.bin") == Self.sha1(path))
    }

    /// SIGTERM stops a daemon whose download is stuck on a stalling seeder: it exits 0, removes its command
    /// socket, and the download is there again when the daemon comes back.
    @Test func sigtermStopsTheDaemonCleanlyAndTheDownloadComesBack() throws {
        let cluster = try Self.swarm(members: ["bob", "mallory"])
        let path = try cluster.writeFile("stuck.bin", size: 8 * Self.pieceSize)
        let staller = try FakeSeeder(path: path, pieceSize: Self.pieceSize, behavior: .halfThenStall)
        defer { staller.stop() }
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        try Self.registerSeeder(staller.port, file: "stuck.bin", as: "mallory", in: cluster)
        try cluster.stopPeer("alice")
        let target = cluster.directory.appendingPathComponent("bob-dir").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try cluster.expectSuccess(["download", "team", "stuck.bin", "--to", target, "--detach"], as: "bob")
        _ = try eventually("the staller to be asked for a piece") { staller.requestCount > 0 ? true : nil }

        #expect(try cluster.stopPeer("bob") == 0)
        let socket = cluster.home("bob") + "/peer/peer.sock"
        #expect(!FileManager.default.fileExists(atPath: socket), "the command socket outlived the daemon")
        try cluster.startPeer("bob")
        let state = try Self.download("stuck.bin", of: "bob", in: cluster)?["state"] as? String
        #expect(state == "downloading" || state == "waiting", "\(state ?? "no download")")
    }

    /// A download interrupted by kill -9 resumes from its verified pieces: the seeder that finishes it serves
    /// only the pieces that were missing.
    @Test func aKilledDownloadResumesFromItsVerifiedPieces() throws {
        let cluster = try Self.swarm(members: ["bob", "mallory"])
        let pieces = 30
        let delivered = 12
        let path = try cluster.writeFile("resume.bin", size: pieces * Self.pieceSize - 5)
        let partial = try FakeSeeder(path: path, pieceSize: Self.pieceSize, behavior: .stallAfter(pieces: delivered))
        defer { partial.stop() }
        // Alice registers the file, then only the fake seeder serves it: it delivers 12 pieces and stalls.
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        try Self.registerSeeder(partial.port, file: "resume.bin", as: "mallory", in: cluster)
        try cluster.expectSuccess(["stop-share", "team", "resume.bin"], as: "alice")
        let target = cluster.directory.appendingPathComponent("bob-dir").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try cluster.expectSuccess(["download", "team", "resume.bin", "--to", target, "--detach"], as: "bob")
        // Once the fake seeder is dropped for stalling, the verified pieces are saved (every 250 ms).
        _ = try eventually("bob to hold the 12 pieces the fake seeder gives, and wait for more") { () -> Bool? in
            let status = try Self.download("resume.bin", of: "bob", in: cluster)
            return status?["pieces_done"] as? Int == delivered && status?["state"] as? String == "waiting" ? true : nil
        }
        try cluster.stopPeer("bob", signal: SIGKILL)

        // Alice seeds again; bob's daemon restarts, checks its 12 pieces on disk and fetches the other 18.
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        partial.stop()
        try cluster.startPeer("bob")
        _ = try eventually("the resumed download to complete", timeout: .seconds(60)) { () -> Bool? in
            try Self.download("resume.bin", of: "bob", in: cluster)?["state"] as? String == "complete" ? true : nil
        }
        #expect(
            Self.logged(
                "resuming a download from the pieces verified on disk",
                ["download.name=resume.bin", "pieces.verified=\(delivered)", "pieces=\(pieces)"],
                in: cluster.peerLog("bob")))
        #expect(try Self.sha1(target + "/resume.bin") == Self.sha1(path))
        #expect(try Self.share("resume.bin", of: "alice", in: cluster)?["pieces_served"] as? Int == pieces - delivered)
    }

    /// Registers the fake seeder on `port` as a seeder of `file`, as `user`.
    static func registerSeeder(_ port: Int, file: String, as user: String, in cluster: TestCluster) throws {
        let token = try cluster.sessionToken(home: user)
        let socket = try LineSocket(port: cluster.clientPorts["t1"]!)
        #expect(try socket.request("RESUME|\(token)") == "OK|\(user)")
        #expect(try socket.request("NEW_SEEDER|team|\(file)|\(port)") == "OK")
    }
}

/// Where a download cannot go: a full disk, a directory it may not write, a name already taken.
@Suite(.serialized) struct SwarmDiskTests {
    static let pieceSize = 64 << 10

    static func bobDir(_ cluster: TestCluster) throws -> String {
        let target = cluster.directory.appendingPathComponent("bob-dir").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        return target
    }

    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func aFullDiskIsAClearErrorAndLeavesNothingBehind() throws {
        let cluster = try SwarmEndToEndTests.swarm(members: ["bob"])
        let path = try cluster.writeFile("big.bin", size: 40 * Self.pieceSize)
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        let target = try Self.bobDir(cluster)
        let mount = try TmpfsMount(at: target, options: "size=1m")
        defer { mount.unmount() }
        let result = try cluster.ctl(["download", "team", "big.bin", "--to", target], home: "bob")
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("No space left on device; free some space and run the command again"), "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty, "nothing left behind")
    }

    @Test(.enabled(if: getuid() == 0, "chmod 0555 stops only non-root users, so the test needs a read-only mount"))
    func anUnwritableTargetIsAClearError() throws {
        let cluster = try SwarmEndToEndTests.swarm(members: ["bob"])
        let path = try cluster.writeFile("doc.bin", size: 3 * Self.pieceSize)
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        let target = try Self.bobDir(cluster)
        let mount = try TmpfsMount(at: target, options: "size=1m,ro")
        defer { mount.unmount() }
        let result = try cluster.ctl(["download", "team", "doc.bin", "--to", target], home: "bob")
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot create \(target)/doc.bin.part: Read-only file system"), "\(result)")
    }

    @Test func aNameClashIsRefusedAndTheOtherFileIsUntouched() throws {
        let cluster = try SwarmEndToEndTests.swarm(members: ["bob"])
        let path = try cluster.writeFile("notes.bin", size: 2 * Self.pieceSize)
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        let target = try Self.bobDir(cluster)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: target + "/notes.bin"))
        let result = try cluster.ctl(["download", "team", "notes.bin", "--to", target], home: "bob")
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(target)/notes.bin exists; move it away or download elsewhere with --to DIR"))
        #expect(try String(contentsOfFile: target + "/notes.bin", encoding: .utf8) == "mine")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["notes.bin"])
    }

    /// A file of a few hundred MiB, and the daemon tandemctl starts by itself when none runs.
    @Test func aLargeFileThroughADaemonTandemctlStarted() throws {
        let cluster = try TestCluster(pieceSize: "512KiB")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob"])
        try cluster.startPeer("alice")
        let path = try cluster.writeFile("large.bin", size: 300 << 20)
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        let target = try Self.bobDir(cluster)
        // No daemon runs for bob: download starts one (and says so), which stop-peer stops.
        let result = try cluster.expectSuccess(["download", "team", "large.bin", "--to", target], as: "bob")
        #expect(result.stderr.contains("tandemctl: started the peer daemon"))
        defer { _ = try? cluster.ctl(["stop-peer"], home: "bob") }
        #expect(try SwarmEndToEndTests.sha1(target + "/large.bin") == SwarmEndToEndTests.sha1(path))
        #expect(try cluster.expectSuccess(["stop-peer"], as: "bob").stdout.contains("stopped the peer daemon"))
    }

    /// `stop-peer` is answered before the daemon stops. It once stopped first and could cut its own answer off
    /// ("the peer daemon closed the connection without an answer", in 3 of 45 stops of bench/fanout).
    @Test func stopPeerIsAnsweredEveryTime() throws {
        let cluster = try TestCluster(pieceSize: "64KiB")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: [])
        for round in 1...10 {
            try cluster.startPeer("alice")
            let stopped = try cluster.ctl(["stop-peer"], home: "alice")
            #expect(
                stopped.status == 0 && stopped.stdout.contains("stopped the peer daemon"), "round \(round): \(stopped)")
            let status = try cluster.waitForExit("peer-alice")
            #expect(
                status == 0,
                "round \(round): the daemon exits cleanly; it ended with \(status): \(cluster.peerLog("alice"))")
        }
    }
}
