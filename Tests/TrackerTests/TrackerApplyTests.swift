import Testing
import Tracker
import Wire

/// `apply` re-validates every op, since a logged op may be stale or replayed: a refused op answers an error and
/// leaves the state `==` to what it was.
@Suite struct TrackerApplyTests {
    /// An op applied to ``TrackerHarness/world()`` and what it must answer.
    struct Row: Sendable, CustomTestStringConvertible {
        var label: String
        var op: TrackerOp
        var reply: Reply
        var testDescription: String { self.label }

        init(_ label: String, _ op: TrackerOp, _ reply: Reply) {
            self.label = label
            self.op = op
            self.reply = reply
        }
    }

    static let refusals: [Row] = [
        Row(
            "createUser of an existing user", .createUser(user: "alice", password: TrackerHarness.fakeHash("x")),
            .error(.exists, "user alice exists already")),
        Row(
            "createUser with a bad name", .createUser(user: "a b", password: TrackerHarness.fakeHash("x")),
            .error(.invalid, Rule.userNameRule)),
        Row(
            "openSession for an unknown user", .openSession(user: "zed", token: "t"),
            .error(.notFound, "no user named zed")),
        Row(
            "openSession with a token in use", .openSession(user: "alice", token: "bob#1"),
            .error(.exists, "the session token is already in use")),
        Row(
            "openSession with an empty token", .openSession(user: "alice", token: ""),
            .error(.invalid, "session tokens are not empty")),
        Row(
            "closeSession of an unknown token", .closeSession(token: "gone"),
            .error(.notFound, "no such session; log in again (LOGIN|user|password)")),
        Row(
            "createGroup of an existing group", .createGroup(group: "g", owner: "bob"),
            .error(.exists, "group g exists already")),
        Row(
            "createGroup with a bad name", .createGroup(group: "-g", owner: "bob"), .error(.invalid, Rule.groupNameRule)
        ),
        Row(
            "createGroup for an unknown owner", .createGroup(group: "k", owner: "zed"),
            .error(.notFound, "no user named zed")),
        Row(
            "requestJoin of an unknown group", .requestJoin(group: "zz", user: "dave"),
            .error(.notFound, "no group named zz")),
        Row(
            "requestJoin by an unknown user", .requestJoin(group: "g", user: "zed"),
            .error(.notFound, "no user named zed")),
        Row("requestJoin by a member", .requestJoin(group: "g", user: "bob"), .error(.exists, "already a member of g")),
        Row(
            "requestJoin replayed", .requestJoin(group: "g", user: "carol"),
            .error(.exists, "a request to join g is already pending")),
        Row(
            "leaveGroup of an unknown group", .leaveGroup(group: "zz", user: "alice"),
            .error(.notFound, "no group named zz")),
        Row(
            "leaveGroup by an outsider", .leaveGroup(group: "g", user: "dave"),
            .error(.forbidden, "not a member of g")),
        Row(
            "acceptRequest in an unknown group", .acceptRequest(group: "zz", owner: "alice", user: "carol"),
            .error(.notFound, "no group named zz")),
        Row(
            "acceptRequest by someone who is no longer the owner",
            .acceptRequest(group: "g", owner: "bob", user: "carol"),
            .error(.forbidden, "only the owner of g can accept join requests")),
        Row(
            "acceptRequest of a vanished request", .acceptRequest(group: "g", owner: "alice", user: "dave"),
            .error(.notFound, "dave has not asked to join g")),
        Row(
            "addFile by an outsider",
            .addFile(
                group: "g", name: "x", size: 0, pieceHashes: .empty, seeder: Seeder(user: "dave", host: "h", port: 1)),
            .error(.forbidden, "not a member of g")),
        Row(
            "addFile of an existing name",
            .addFile(group: "g", name: "a.txt", size: 0, pieceHashes: .empty, seeder: TrackerHarness.aliceSeeder),
            .error(.exists, "g already has a file named a.txt")),
        Row(
            "addFile with a path",
            .addFile(group: "g", name: "../a", size: 0, pieceHashes: .empty, seeder: TrackerHarness.aliceSeeder),
            .error(.invalid, Rule.fileNameRule)),
        Row(
            "addFile with the wrong piece count",
            .addFile(group: "g", name: "x", size: 1, pieceHashes: .empty, seeder: TrackerHarness.aliceSeeder),
            .error(.invalid, "0 piece hashes given, but a file of 1 bytes has 1 pieces of 16 bytes")),
        Row(
            "addFile of UInt64.max bytes",
            .addFile(group: "g", name: "x", size: .max, pieceHashes: .empty, seeder: TrackerHarness.aliceSeeder),
            .error(.invalid, "a file of 18446744073709551615 bytes is over the limit of 1125899906842624 bytes (1 PiB)")
        ),
        Row(
            "addFile on port 0",
            .addFile(
                group: "g", name: "x", size: 0, pieceHashes: .empty, seeder: Seeder(user: "alice", host: "h", port: 0)),
            .error(.invalid, "ports are 1 to 65535")),
        Row(
            "addSeeder of an unknown file", .addSeeder(group: "g", name: "x", seeder: TrackerHarness.bobSeeder),
            .error(.notFound, "no file named x in g")),
        Row(
            "addSeeder by an outsider",
            .addSeeder(group: "g", name: "a.txt", seeder: Seeder(user: "carol", host: "h", port: 1)),
            .error(.forbidden, "not a member of g")),
        Row(
            "removeSeeder by a user who does not seed", .removeSeeder(group: "g", name: "dup.bin", user: "bob"),
            .error(.notFound, "you do not seed dup.bin in g")),
        Row(
            "removeSeeder of an unknown file", .removeSeeder(group: "g", name: "x", user: "bob"),
            .error(.notFound, "no file named x in g")),
    ]

    @Test(arguments: Self.refusals)
    func refusedOpChangesNothing(_ row: Row) {
        var world = TrackerHarness.world()
        let before = world.state
        #expect(world.apply(row.op) == row.reply)
        #expect(world.state == before)
    }

    static let writes: [TrackerOp] = [
        .createUser(user: "frank", password: TrackerHarness.fakeHash("x")),
        .openSession(user: "dave", token: "fresh"),
        .closeSession(token: "carol#1"),
        .createGroup(group: "k", owner: "erin"),
        .requestJoin(group: "h", user: "erin"),
        .leaveGroup(group: "g", user: "bob"),
        .leaveGroup(group: "g", user: "alice"),
        .acceptRequest(group: "g", owner: "alice", user: "carol"),
        .addFile(group: "g", name: "c", size: 16, pieceHashes: pieceHashes(1), seeder: TrackerHarness.bobSeeder),
        .removeSeeder(group: "g", name: "a.txt", user: "bob"),
    ]

    @Test(arguments: Self.writes)
    func replayedOpIsRefusedTheSecondTime(_ op: TrackerOp) {
        var world = TrackerHarness.world()
        let first = world.apply(op)
        #expect(!first.isError, "first apply: \(first)")
        let after = world.state
        #expect(world.apply(op).isError)
        #expect(world.state == after)
    }

    @Test func addSeederTwiceKeepsOneEntryPerUser() {
        var world = TrackerHarness.world()
        let moved = Seeder(user: "bob", host: "10.0.0.3", port: 7100)
        #expect(world.apply(.addSeeder(group: "g", name: "a.txt", seeder: moved)) == .ok)
        #expect(world.apply(.addSeeder(group: "g", name: "a.txt", seeder: moved)) == .ok)
        #expect(
            world.send(.downloadFile(group: "g", name: "a.txt"), as: "alice")
                == .fileInfo(TrackerHarness.aTxtInfo(seeders: [TrackerHarness.aliceSeeder, moved]))
        )
    }

    @Test func aUserHoldsAtMost64SessionsAndTheOldestCloses() {
        var world = TrackerHarness.world()
        for _ in 0..<63 {
            world.send(.login(user: "alice", password: "pw-alice"), session: nil)
        }
        #expect(world.state.user(forSession: "alice#1") == "alice")
        #expect(world.send(.login(user: "alice", password: "pw-alice"), session: nil) == .token("alice#65"))
        #expect(world.state.user(forSession: "alice#1") == nil)
        #expect(world.send(.whoami, session: "alice#1") == .error(.notLoggedIn, Rule.notLoggedIn))
        for number in 2...65 {
            #expect(world.state.user(forSession: "alice#\(number)") == "alice")
        }
        #expect(world.state.user(forSession: "bob#1") == "bob")
    }

    @Test func loggingOutKeepsSeeding() {
        var world = TrackerHarness.world()
        #expect(world.send(.logout, as: "bob") == .ok)
        #expect(world.state.user(forSession: "bob#1") == nil)
        #expect(
            world.send(.downloadFile(group: "g", name: "a.txt"), as: "alice")
                == .fileInfo(TrackerHarness.aTxtInfo(seeders: [TrackerHarness.aliceSeeder, TrackerHarness.bobSeeder]))
        )
    }

    @Test func aZeroPieceSizeCountsAsOne() {
        let state = TrackerState(pieceSize: 0)
        #expect(state.pieceSize == 1)
    }
}

extension Reply {
    /// Whether this is an error reply.
    var isError: Bool {
        if case .error = self { true } else { false }
    }
}
