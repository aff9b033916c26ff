import Foundation
import TandemTestKit
import Testing

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

        // Stopping the share in one group ends only that one.
        try cluster.expectSuccess(["stop-share", "team", "slides.pdf"], as: "alice")
        let left = try cluster.expectSuccess(["shares", "--json"], as: "alice").stdout
        let remaining = try JSONSerialization.jsonObject(with: Data(left.utf8)) as? [[String: Any]] ?? []
        #expect(remaining.compactMap { $0["group"] as? String } == ["friends"], "\(left)")
    }
}
