import Testing
import Tracker
import Wire

/// The small world every rule is tested against:
///
/// - users alice, bob, carol, dave and erin, each logged in once (`alice#1`, `bob#1`, ...);
/// - group g, owned by alice: bob is a member, carol has asked to join, dave and erin have nothing to do with it;
/// - group h, owned by bob: alice is a member;
/// - g/a.txt (40 bytes, 3 pieces) seeded by alice (10.0.0.1:7001), then bob (10.0.0.2:7002);
/// - g/dup.bin and h/dup.bin (empty files) seeded by alice alone.
extension TrackerHarness {
    static let aliceSeeder = Seeder(user: "alice", host: "10.0.0.1", port: 7001)
    static let bobSeeder = Seeder(user: "bob", host: "10.0.0.2", port: 7002)
    /// The hex SHA1 of a.txt's piece-hash list (`pieceHashes(3)`).
    static let aTxtID = "d9326fa1094794601bcb18b76175276eb948f1af"
    /// The hex SHA1 of an empty piece-hash list.
    static let emptyID = "da39a3ee5e6b4b0d3255bfef95601890afd80709"

    static func world() -> TrackerHarness {
        var world = TrackerHarness()
        world.signUp("alice", "bob", "carol", "dave", "erin")
        world.send(.createGroup(group: "g"), as: "alice")
        world.send(.joinGroup(group: "g"), as: "bob")
        world.send(.acceptRequest(group: "g", user: "bob"), as: "alice")
        world.send(.joinGroup(group: "g"), as: "carol")
        world.send(.createGroup(group: "h"), as: "bob")
        world.send(.joinGroup(group: "h"), as: "alice")
        world.send(.acceptRequest(group: "h", user: "alice"), as: "bob")
        world.send(
            .uploadFile(group: "g", name: "a.txt", size: 40, pieceHashes: pieceHashes(3), port: 7001), as: "alice",
            host: "10.0.0.1"
        )
        world.send(.newSeeder(group: "g", name: "a.txt", port: 7002), as: "bob", host: "10.0.0.2")
        for group in ["g", "h"] {
            world.send(
                .uploadFile(group: group, name: "dup.bin", size: 0, pieceHashes: .empty, port: 7001), as: "alice",
                host: "10.0.0.1"
            )
        }
        return world
    }

    /// The files of g as the world starts: what `LIST_FILES|g` answers.
    static let worldFilesOfG: [FileEntry] = [
        FileEntry(name: "a.txt", size: 40, seeders: 2, fileID: Self.aTxtID),
        FileEntry(name: "dup.bin", size: 0, seeders: 1, fileID: Self.emptyID),
    ]

    /// What `DOWNLOAD_FILE|g|a.txt` answers, given a.txt's seeders.
    static func aTxtInfo(seeders: [Seeder]) -> FileInfo {
        FileInfo(
            group: "g", name: "a.txt", size: 40, pieceSize: Self.pieceSize, pieceHashes: pieceHashes(3),
            fileID: Self.aTxtID, seeders: seeders
        )
    }
}

@Suite struct TrackerWorldTests {
    @Test func theWorldIsBuiltWithoutARefusal() {
        let world = TrackerHarness.world()
        let refused = world.log.filter { if case .error = $0.reply { true } else { false } }
        #expect(refused.isEmpty)
        #expect(
            world.tokens == [
                "alice": "alice#1", "bob": "bob#1", "carol": "carol#1", "dave": "dave#1", "erin": "erin#1",
            ])
    }
}
