import Testing
import Tracker
import Wire

/// The original README's walkthrough, command by command, against a fresh tracker.
@Suite struct TrackerWalkthroughTests {
    @Test func aliceSharesAFileWithBob() {
        var tracker = TrackerHarness()
        #expect(tracker.send(.createUser(user: "alice", password: "wonderland"), session: nil) == .ok)
        #expect(tracker.send(.login(user: "alice", password: "wonderland"), session: nil) == .token("alice#1"))
        #expect(tracker.send(.createGroup(group: "g"), as: "alice") == .ok)

        #expect(tracker.send(.createUser(user: "bob", password: "builder"), session: nil) == .ok)
        #expect(tracker.send(.login(user: "bob", password: "builder"), session: nil) == .token("bob#1"))
        #expect(tracker.send(.listGroups, as: "bob") == .groups([GroupEntry(name: "g", membership: .none)]))
        #expect(tracker.send(.listFiles(group: "g"), as: "bob") == .error(.forbidden, "not a member of g"))
        #expect(tracker.send(.joinGroup(group: "g"), as: "bob") == .ok)
        #expect(tracker.send(.listGroups, as: "bob") == .groups([GroupEntry(name: "g", membership: .pending)]))

        #expect(tracker.send(.listRequests(group: "g"), as: "alice") == .users(["bob"]))
        #expect(tracker.send(.acceptRequest(group: "g", user: "bob"), as: "alice") == .ok)
        #expect(tracker.send(.listRequests(group: "g"), as: "alice") == .users([]))

        let upload = Request.uploadFile(
            group: "g", name: "notes.txt", size: 40, pieceHashes: pieceHashes(3), port: 7001)
        #expect(tracker.send(upload, as: "alice", host: "10.0.0.1") == .fileID(TrackerHarness.aTxtID))
        let listing = Reply.files([FileEntry(name: "notes.txt", size: 40, seeders: 1, fileID: TrackerHarness.aTxtID)])
        #expect(tracker.send(.listFiles(group: "g"), as: "alice") == listing)
        #expect(tracker.send(.listFiles(group: "g"), as: "bob") == listing)

        let alice = Seeder(user: "alice", host: "10.0.0.1", port: 7001)
        let info = FileInfo(
            group: "g", name: "notes.txt", size: 40, pieceSize: TrackerHarness.pieceSize, pieceHashes: pieceHashes(3),
            fileID: TrackerHarness.aTxtID, seeders: [alice]
        )
        #expect(tracker.send(.downloadFile(group: "g", name: "notes.txt"), as: "bob") == .fileInfo(info))

        // Bob's download finished: his peer registers as a seeder the original way, without naming the group.
        #expect(tracker.send(.newSeeder(group: nil, name: "notes.txt", port: 7002), as: "bob", host: "10.0.0.2") == .ok)
        let bob = Seeder(user: "bob", host: "10.0.0.2", port: 7002)
        var seeded = info
        seeded.seeders = [alice, bob]
        #expect(tracker.send(.downloadFile(group: "g", name: "notes.txt"), as: "alice") == .fileInfo(seeded))

        #expect(tracker.send(.stopShare(group: "g", name: "notes.txt"), as: "alice") == .ok)
        seeded.seeders = [bob]
        #expect(tracker.send(.downloadFile(group: "g", name: "notes.txt"), as: "alice") == .fileInfo(seeded))

        #expect(tracker.send(.logout, as: "bob") == .ok)
        #expect(tracker.send(.listFiles(group: "g"), as: "bob") == .error(.notLoggedIn, Rule.notLoggedIn))
        #expect(
            tracker.send(.listFiles(group: "g"), as: "alice")
                == .files([FileEntry(name: "notes.txt", size: 40, seeders: 1, fileID: TrackerHarness.aTxtID)])
        )

        #expect(tracker.send(.leaveGroup(group: "g"), as: "alice") == .ok)
        #expect(tracker.send(.listGroups, as: "alice") == .groups([]))
        #expect(tracker.send(.whoami, as: "alice") == .user("alice"))
    }
}
