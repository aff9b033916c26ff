import Cluster
import Foundation
import TandemTestKit
import Testing
import TrackerClient

/// What a new user hits in a normal day (issue 17), each through the real binaries.
@Suite(.serialized) struct UsersDayTests {
    /// One file shared into two groups stays served in both: each group's members download it, and stopping the
    /// share in one group leaves the other's.
    @Test func aFileSharedIntoASecondGroupIsStillServedInTheFirst() throws {
        let cluster = try TestCluster(pieceSize: "64KiB", extraYAML: "swarm: { peer_timeout: 2s }\n")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob"])
        try cluster.makeGroup("friends", owner: "carol", members: [])
        try cluster.expectSuccess(["join-group", "friends"], as: "alice")
        try cluster.expectSuccess(["accept-request", "friends", "alice"], as: "carol")
        for user in ["alice", "bob", "carol"] { _ = try cluster.startPeer(user) }

        let path = try cluster.writeFile("slides.pdf", size: 3 * (64 << 10) + 17)
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        try cluster.expectSuccess(["share", "friends", path], as: "alice")
        let shares = try cluster.expectSuccess(["shares", "--json"], as: "alice").stdout
        let listed = try JSONSerialization.jsonObject(with: Data(shares.utf8)) as? [[String: Any]] ?? []
        #expect(Set(listed.compactMap { $0["group"] as? String }) == ["team", "friends"], "\(shares)")

        for (user, group) in [("bob", "team"), ("carol", "friends")] {
            let target = cluster.directory.appendingPathComponent("\(user)-files").path
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            let download = try cluster.ctl(["download", group, "slides.pdf", "--to", target], home: user)
            #expect(download.status == 0, "\(user) in \(group): \(download)")
            #expect(
                FileManager.default.contents(atPath: target + "/slides.pdf")
                    == FileManager.default.contents(atPath: path))
        }

        // A finished download's row has every key, and no rate left from when it ran.
        let rows = try cluster.expectSuccess(["downloads", "--json"], as: "bob").stdout
        let row = try #require((try JSONSerialization.jsonObject(with: Data(rows.utf8)) as? [[String: Any]])?.first)
        #expect(row["state"] as? String == "complete" && row["rate"] as? Double == 0, "\(rows)")
        #expect(row.keys.contains("eta") && row.keys.contains("message"), "\(rows)")

        // Stopping the share in one group ends only that one.
        try cluster.expectSuccess(["stop-share", "team", "slides.pdf"], as: "alice")
        let left = try cluster.expectSuccess(["shares", "--json"], as: "alice").stdout
        let remaining = try JSONSerialization.jsonObject(with: Data(left.utf8)) as? [[String: Any]] ?? []
        #expect(remaining.compactMap { $0["group"] as? String } == ["friends"], "\(left)")
    }

    /// An error is said once (`error: error:` came from the peer daemon passing on a tracker's refusal), and
    /// `status --json` gives numbers as numbers.
    @Test func errorsAreSaidOnceAndStatusNumbersAreNumbers() throws {
        let cluster = try TestCluster()
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: [])
        _ = try cluster.startPeer("alice")
        let missing = try cluster.ctl(["download", "team", "nothing.bin"], home: "alice")
        #expect(missing.status != 0)
        #expect(missing.stderr.hasPrefix("error: ") && !missing.stderr.contains("error: error"), "\(missing)")
        let notLoggedIn = try cluster.ctl(["whoami"], home: "nobody")
        #expect(notLoggedIn.stderr.hasPrefix("error: not logged in"), "\(notLoggedIn)")

        // t2 is not running: the pair is not whole, which status says by its exit code too.
        let answered = try cluster.ctl(["status", "--json"], home: "alice")
        #expect(answered.status == 1, "\(answered)")
        let status = answered.stdout
        let document = try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any]
        let tracker = try #require((document?["trackers"] as? [[String: Any]])?.first?["status"] as? [String: Any])
        #expect(
            tracker["epoch"] is NSNumber && tracker["last_seq"] is NSNumber && tracker["pid"] is NSNumber, "\(status)")
        #expect(tracker["role"] as? String == "primary" || tracker["role"] as? String == "waiting", "\(status)")
    }

    /// On an 80-column terminal, the download's progress line (here the long "waiting for seeders" one) is
    /// redrawn within 79 columns, so it never wraps into a new line per redraw.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs util-linux's script"))
    func theProgressLineFitsAnEightyColumnTerminal() throws {
        let cluster = try TestCluster(pieceSize: "64KiB")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob"])
        for user in ["alice", "bob"] { _ = try cluster.startPeer(user) }
        let path = try cluster.writeFile("video.mkv", size: 4 * (64 << 10))
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        #expect(try cluster.stopPeer("alice") == 0, "the only seeder is gone: bob's download waits")

        let target = cluster.directory.appendingPathComponent("bob-files").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let command = [
            Binaries.tandemctl.path, "download", "team", "video.mkv", "--to", target, "--config",
            cluster.directory.appendingPathComponent("cluster.yaml").path, "--home", cluster.home("bob"),
        ].map { "'\($0)'" }.joined(separator: " ")
        // script gives the command a terminal; stty makes it 80 columns wide; timeout ends the wait.
        let result = try TestCluster.run(
            URL(fileURLWithPath: "/usr/bin/timeout"),
            ["-s", "INT", "4", "/usr/bin/script", "-qfec", "stty cols 80 rows 24; exec \(command)", "/dev/null"],
            stdin: nil, in: cluster.directory)
        let redraws = result.stdout.replacingOccurrences(of: "\u{1B}[2K", with: "")
            .split(whereSeparator: { $0 == "\r" || $0 == "\n" }).map(String.init).filter { !$0.isEmpty }
        #expect(redraws.contains { $0.hasPrefix("video.mkv [") }, "the progress line was drawn: \(result)")
        #expect(redraws.allSatisfy { $0.count <= 79 }, "\(redraws.filter { $0.count > 79 })")
        #expect(redraws.contains { $0.hasSuffix("…") }, "the waiting message was cut, not wrapped: \(redraws)")
    }

    /// With no tracker running (each refuses the connection), a command gives up after about a second with a
    /// hint, instead of retrying for the whole retry window.
    @Test func withEveryTrackerDownACommandGivesUpSoonAndSaysWhy() throws {
        let cluster = try TestCluster()
        // A deadline short of the retry window: a command that retried for the whole window is killed and fails.
        let result = try TestCluster.run(
            Binaries.tandemctl,
            ["list-groups", "--config", cluster.configPath, "--home", cluster.home("nobody")], stdin: nil,
            in: cluster.directory, timeout: ClusterClient.retryWindow / 2)
        #expect(result.status == 3, "\(result)")
        #expect(result.stderr.contains("no tracker is running: each refused the connection"), "\(result)")
        #expect(!result.stderr.contains("retrying"), "no retry line when nobody watches: \(result)")

        // On a terminal, the wait is said while it lasts.
        let command = [
            Binaries.tandemctl.path, "list-groups", "--config", cluster.configPath, "--home", cluster.home("nobody"),
        ]
        .map { "'\($0)'" }.joined(separator: " ")
        let watched = try TestCluster.run(
            URL(fileURLWithPath: "/usr/bin/script"), ["-qec", command, "/dev/null"], stdin: nil, in: cluster.directory)
        #expect(watched.stdout.contains("retrying (up to 20 s)"), "\(watched)")
    }

    /// A mistyped command gets a suggestion, the original snake_case names work, and both binaries say their
    /// version.
    @Test func typosGetASuggestionOriginalNamesWorkAndBinariesSayTheirVersion() throws {
        let cluster = try TestCluster()
        try cluster.start()
        try cluster.signUp("alice", home: "alice")
        let typo = try cluster.ctl(["lsit-groups"], home: "alice")
        #expect(typo.status == 2 && typo.stderr.contains("did you mean `tandemctl list-groups`?"), "\(typo)")
        try cluster.expectSuccess(["create_group", "team"], as: "alice")
        #expect(try cluster.expectSuccess(["list_groups"], as: "alice").stdout.contains("team"))
        for binary in [Binaries.tandemctl, Binaries.tandemd] {
            let version = try TestCluster.run(binary, ["--version"], stdin: nil, in: cluster.directory)
            #expect(
                version.status == 0
                    && version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == TandemVersion.current,
                "\(version)")
        }
    }

    /// Ctrl-C on `share` while the file is being hashed cancels it: nothing is published, nothing is shared.
    @Test func ctrlCOnShareWhileHashingPublishesNothing() throws {
        let cluster = try TestCluster()
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: [])
        _ = try cluster.startPeer("alice")
        // 3 GiB, sparse: long enough to hash that the interrupt comes first.
        let path = cluster.directory.appendingPathComponent("disk.img").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        #expect(truncate(path, 3 << 30) == 0)

        let share = try cluster.launch(
            Binaries.tandemctl,
            ["share", "team", path, "--config", cluster.configPath, "--home", cluster.home("alice")], log: "share")
        _ = try eventually("the daemon to hash the file") {
            cluster.peerLog("alice").contains("hashing a file to share") ? true : nil
        }
        share.send(SIGINT)
        #expect(try share.wait(timeout: .seconds(20)) != .exited(0))
        _ = try eventually("the daemon to cancel the share") {
            cluster.peerLog("alice").contains("share cancelled before it was published") ? true : nil
        }
        let files = try cluster.expectSuccess(["list-files", "team", "--json"], as: "alice").stdout
        #expect(!files.contains("disk.img"), "\(files)")
        let shares = try cluster.expectSuccess(["shares", "--json"], as: "alice").stdout
        #expect(!shares.contains("disk.img"), "\(shares)")
    }

    /// A shared file deleted after it was shared: the first downloader that asks makes the sharer mark the share
    /// broken, with the reason in `shares`, and stop advertising it; the downloader is told why and waits for
    /// another seeder.
    @Test func aSharedFileDeletedBreaksItsShareVisiblyAndDownloadersAreToldWhy() throws {
        let cluster = try TestCluster(pieceSize: "64KiB", extraYAML: "swarm: { peer_timeout: 2s }\n")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob"])
        for user in ["alice", "bob"] { _ = try cluster.startPeer(user) }
        let path = try cluster.writeFile("notes.bin", size: 3 * (64 << 10))
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        try FileManager.default.removeItem(atPath: path)

        let target = cluster.directory.appendingPathComponent("bob-files").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try cluster.expectSuccess(["download", "team", "notes.bin", "--to", target, "--detach"], as: "bob")
        let broken = try eventually("alice's share to be marked broken") { () -> String? in
            let shares = try? cluster.expectSuccess(["shares", "--json"], as: "alice").stdout
            let list = shares.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [[String: Any]] }
            return list?.first?["broken"] as? String
        }
        #expect(broken.contains("deleted, moved or changed"), "\(broken)")
        let table = try cluster.expectSuccess(["shares"], as: "alice").stdout
        #expect(table.contains("broken: notes.bin in team:"), "\(table)")
        _ = try eventually("the tracker to list no seeder of it") { () -> Bool? in
            guard let files = try? cluster.expectSuccess(["list-files", "team", "--json"], as: "bob").stdout,
                let list = try? JSONSerialization.jsonObject(with: Data(files.utf8)) as? [[String: Any]]
            else { return nil }
            let entry = list.first { $0["name"] as? String == "notes.bin" }
            return entry == nil || entry?["seeders"] as? Int == 0 ? true : nil
        }
        let status = try #require(try cluster.expectSuccess(["downloads", "--json"], as: "bob").stdout.nilIfEmpty)
        #expect(!status.contains("oFlag"), "the downloader is told in words, not a system call's: \(status)")
    }

    /// The owner leaving dissolves the group, so it asks first: without a terminal to confirm on, it refuses and
    /// changes nothing; with --force it dissolves and says so. A member just leaves.
    @Test func theOwnerLeavingMustConfirmDissolvingTheGroup() throws {
        let cluster = try TestCluster()
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob"])
        let refused = try cluster.ctl(["leave-group", "team"], home: "alice")
        #expect(refused.status == 2 && refused.stderr.contains("pass --force"), "\(refused)")
        #expect(try cluster.expectSuccess(["list-groups", "--mine"], as: "alice").stdout.contains("team"))
        #expect(try cluster.expectSuccess(["leave-group", "team"], as: "bob").stdout.contains("left team"))
        let dissolved = try cluster.expectSuccess(["leave-group", "team", "--force"], as: "alice")
        #expect(dissolved.stdout.contains("dissolved team"), "\(dissolved)")
        #expect(!(try cluster.expectSuccess(["list-groups"], as: "alice").stdout.contains("team")))
    }

    /// `downloads --json` as `user`: the row of `name`, if any.
    static func downloadRow(_ name: String, of user: String, in cluster: TestCluster) throws -> [String: Any]? {
        let rows = try cluster.expectSuccess(["downloads", "--json"], as: user).stdout
        return (try JSONSerialization.jsonObject(with: Data(rows.utf8)) as? [[String: Any]])?.first {
            $0["name"] as? String == name
        }
    }

    /// Downloads under the user's control: paused (and still paused after the daemon restarts), resumed to the
    /// end, cleared from the list, and cancelled with its part file deleted.
    @Test func aDownloadIsPausedResumedClearedAndCancelled() throws {
        let cluster = try TestCluster(pieceSize: "64KiB", extraYAML: "swarm: { peer_timeout: 2s }\n")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob"])
        for user in ["alice", "bob"] { _ = try cluster.startPeer(user) }
        let path = try cluster.writeFile("album.zip", size: 5 * (64 << 10))
        let other = try cluster.writeFile("draft.zip", size: 2 * (64 << 10))
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        try cluster.expectSuccess(["share", "team", other], as: "alice")
        #expect(try cluster.stopPeer("alice") == 0, "no seeder: bob's downloads wait")

        let target = cluster.directory.appendingPathComponent("bob-files").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        for name in ["album.zip", "draft.zip"] {
            try cluster.expectSuccess(["download", "team", name, "--to", target, "--detach"], as: "bob")
        }
        #expect(
            try cluster.expectSuccess(["pause", "team", "album.zip"], as: "bob").stdout.contains("paused album.zip"))
        #expect(try Self.downloadRow("album.zip", of: "bob", in: cluster)?["state"] as? String == "paused")
        #expect(try cluster.stopPeer("bob") == 0)
        _ = try cluster.startPeer("bob")
        _ = try eventually("the paused download to be listed again") {
            try Self.downloadRow("album.zip", of: "bob", in: cluster)?["state"] as? String
        }
        #expect(try Self.downloadRow("album.zip", of: "bob", in: cluster)?["state"] as? String == "paused")

        // Cancelled: gone from the list, its part file deleted.
        #expect(FileManager.default.fileExists(atPath: target + "/draft.zip.part"))
        try cluster.expectSuccess(["cancel", "team", "draft.zip"], as: "bob")
        #expect(try Self.downloadRow("draft.zip", of: "bob", in: cluster) == nil)
        #expect(!FileManager.default.fileExists(atPath: target + "/draft.zip.part"))

        // Resumed with the seeder back: it completes; --clear forgets it.
        _ = try cluster.startPeer("alice")
        try cluster.expectSuccess(["resume", "team", "album.zip"], as: "bob")
        _ = try eventually("the resumed download to complete", timeout: .seconds(60)) {
            try Self.downloadRow("album.zip", of: "bob", in: cluster)?["state"] as? String == "complete" ? true : nil
        }
        #expect(
            FileManager.default.contents(atPath: target + "/album.zip") == FileManager.default.contents(atPath: path))
        let cleared = try cluster.expectSuccess(["downloads", "--clear", "--json"], as: "bob").stdout
        #expect(!cleared.contains("album.zip"), "\(cleared)")
    }

    /// Ctrl-C on `download`, on a terminal: it says the download goes on in the peer daemon and how to stop it,
    /// exits 130, and the download does go on.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs util-linux's script"))
    func ctrlCOnDownloadSaysItGoesOnAndHowToStopIt() throws {
        let cluster = try TestCluster(pieceSize: "64KiB")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob"])
        for user in ["alice", "bob"] { _ = try cluster.startPeer(user) }
        let path = try cluster.writeFile("movie.mkv", size: 4 * (64 << 10))
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        #expect(try cluster.stopPeer("alice") == 0, "no seeder: the download waits")

        let target = cluster.directory.appendingPathComponent("bob-files").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let command = [
            Binaries.tandemctl.path, "download", "team", "movie.mkv", "--to", target, "--config", cluster.configPath,
            "--home", cluster.home("bob"),
        ].map { "'\($0)'" }.joined(separator: " ")
        let transcript = cluster.directory.appendingPathComponent("download.typescript").path
        let script = try cluster.launch(
            URL(fileURLWithPath: "/usr/bin/script"), ["-qfec", "stty cols 120 rows 24; exec \(command)", transcript],
            log: "script")
        // The progress line is drawn once the command follows the download: its Ctrl-C handling is in place.
        _ = try eventually("the progress line") {
            (try? String(contentsOfFile: transcript, encoding: .utf8))?.contains("movie.mkv [") == true ? true : nil
        }
        let pid = try TestCluster.run(
            URL(fileURLWithPath: "/usr/bin/pgrep"), ["-f", "--", "tandemctl download team movie.mkv --to \(target)"],
            stdin: nil, in: cluster.directory
        ).stdout.split(separator: "\n").compactMap { Int32($0) }.first
        kill(try #require(pid, "the download command runs"), SIGINT)
        #expect(try script.wait(timeout: .seconds(20)) == .exited(130))
        let said = try String(contentsOfFile: transcript, encoding: .utf8)
        #expect(said.contains("movie.mkv goes on downloading in the peer daemon"), "\(said)")
        #expect(said.contains("tandemctl cancel team movie.mkv"), "\(said)")
        #expect(try Self.downloadRow("movie.mkv", of: "bob", in: cluster)?["state"] as? String == "waiting")
    }

    /// The owner turns down a request (the user may ask again) and removes a member (who then stands outside).
    @Test func theOwnerRejectsARequestAndRemovesAMember() throws {
        let cluster = try TestCluster()
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob"])
        try cluster.signUp("carol", home: "carol")
        try cluster.expectSuccess(["join-group", "team"], as: "carol")
        let rejected = try cluster.expectSuccess(["reject-request", "team", "carol"], as: "alice")
        #expect(rejected.stdout.contains("turned down carol's request to join team"))
        #expect(!(try cluster.expectSuccess(["list-requests", "team"], as: "alice").stdout.contains("carol")))
        try cluster.expectSuccess(["join-group", "team"], as: "carol")

        let notOwner = try cluster.ctl(["remove-member", "team", "alice"], home: "bob")
        #expect(notOwner.status == 1 && notOwner.stderr.contains("only the owner of team"), "\(notOwner)")
        try cluster.expectSuccess(["remove-member", "team", "bob"], as: "alice")
        let bobs = try cluster.expectSuccess(["list-groups", "--json"], as: "bob").stdout
        #expect(bobs.contains(#"{"membership":"none","name":"team"}"#), "\(bobs)")
        let again = try cluster.ctl(["remove-member", "team", "bob"], home: "alice")
        #expect(again.status == 1 && again.stderr.contains("bob is not a member of team"), "\(again)")
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { self.isEmpty ? nil : self }
}
