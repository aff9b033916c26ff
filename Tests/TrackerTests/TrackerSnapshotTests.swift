import NIOCore
import TandemTestKit
import Testing
import Tracker
import Wire

/// Snapshots round-trip to an `==` state, are the same bytes for equal states, and refuse damaged or inconsistent
/// bytes with a typed error.
@Suite struct TrackerSnapshotTests {
    static func snapshot(of state: TrackerState) -> [UInt8] {
        var buffer = ByteBuffer()
        state.encodeSnapshot(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func decode(_ bytes: [UInt8]) throws(TrackerCodecError) -> TrackerState {
        var buffer = ByteBuffer(bytes: bytes)
        return try TrackerState.decodeSnapshot(from: &buffer)
    }

    @Test func anEmptyStateRoundTrips() throws {
        let state = TrackerState(pieceSize: 1 << 20)
        let decoded = try Self.decode(Self.snapshot(of: state))
        #expect(decoded == state)
        #expect(decoded.pieceSize == 1 << 20)
        #expect(
            Self.snapshot(of: state) == [3, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 12))
    }

    @Test func aPopulatedStateRoundTrips() throws {
        let world = TrackerHarness.world()
        var buffer = ByteBuffer(string: "BEFORE")
        buffer.moveReaderIndex(forwardBy: 6)
        world.state.encodeSnapshot(into: &buffer)
        let decoded = try TrackerState.decodeSnapshot(from: &buffer)
        #expect(decoded == world.state)
        #expect(decoded.user(forSession: "carol#1") == "carol")
        #expect(Self.snapshot(of: decoded) == Self.snapshot(of: world.state))
        // The decoded state answers like the original.
        var restored = world
        restored.state = decoded
        #expect(restored.send(.listFiles(group: "g"), as: "bob") == .files(TrackerHarness.worldFilesOfG))
    }

    @Test func equalStatesGiveEqualBytes() {
        var detour = TrackerHarness.world()
        detour.send(.joinGroup(group: "h"), as: "dave")
        detour.send(.createGroup(group: "k"), as: "erin")
        detour.send(.leaveGroup(group: "k"), as: "erin")
        detour.send(.leaveGroup(group: "h"), as: "dave")
        let world = TrackerHarness.world()
        #expect(detour.state == world.state)
        #expect(Self.snapshot(of: detour.state) == Self.snapshot(of: world.state))
    }

    @Test func everyTruncationThrowsTruncated() {
        let bytes = Self.snapshot(of: TrackerHarness.world().state)
        for length in 0..<bytes.count {
            #expect(throws: TrackerCodecError.truncated, "prefix of \(length) bytes") {
                try Self.decode(Array(bytes.prefix(length)))
            }
        }
    }

    @Test func leftOverBytesThrow() {
        #expect(throws: TrackerCodecError.trailingBytes(2)) {
            try Self.decode(Self.snapshot(of: TrackerHarness.world().state) + [0, 0])
        }
    }

    @Test func anUnknownFormatThrows() {
        #expect(throws: TrackerCodecError.unsupportedFormat(9)) { try Self.decode([9, 0, 0, 0, 16, 0, 0, 0, 0]) }
    }

    @Test(arguments: TestSeeds.all)
    func damagedSnapshotsNeverTrap(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let original = Self.snapshot(of: TrackerHarness.world().state)
        for index in 0..<1_000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0 ... .max, using: &random)
            }
            // decodeSnapshot throws only TrackerCodecError; whatever decodes must be a state that round-trips.
            if let state = try? Self.decode(bytes) {
                #expect((try? Self.decode(Self.snapshot(of: state))) == state, "seed \(seed), case \(index)")
            }
        }
    }

    // MARK: Inconsistent snapshots

    static let inconsistent: [(String, SnapshotWriter, TrackerCodecError)] = [
        ("piece size 0", SnapshotWriter(pieceSize: 0), .inconsistentSnapshot("the piece size is 0")),
        (
            "a user twice", SnapshotWriter().users(("a", []), ("a", [])).groups(),
            .inconsistentSnapshot("user a appears twice")
        ),
        (
            "a token twice", SnapshotWriter().users(("a", ["t"]), ("b", ["t"])).groups(),
            .inconsistentSnapshot("a session token appears twice")
        ),
        (
            "65 sessions", SnapshotWriter().users(("a", (1...65).map { "t\($0)" })).groups(),
            .inconsistentSnapshot("user a holds 65 sessions")
        ),
        (
            "an unknown owner", SnapshotWriter().users(("a", [])).groups(.init(name: "g", owner: "b")),
            .inconsistentSnapshot("group g: owner b is no user")
        ),
        (
            "the owner as a member",
            SnapshotWriter().users(("a", [])).groups(.init(name: "g", owner: "a", members: ["a"])),
            .inconsistentSnapshot("group g: member a is no user, the owner or a duplicate")
        ),
        (
            "a member twice",
            SnapshotWriter().users(("a", []), ("b", [])).groups(.init(name: "g", owner: "a", members: ["b", "b"])),
            .inconsistentSnapshot("group g: member b is no user, the owner or a duplicate")
        ),
        (
            "a member who also asks",
            SnapshotWriter().users(("a", []), ("b", [])).groups(
                .init(name: "g", owner: "a", members: ["b"], requests: ["b"])
            ),
            .inconsistentSnapshot("group g: requester b is no user, in the group or a duplicate")
        ),
        (
            "a group twice",
            SnapshotWriter().users(("a", [])).groups(.init(name: "g", owner: "a"), .init(name: "g", owner: "a")),
            .inconsistentSnapshot("group g appears twice")
        ),
        (
            "a file without seeders",
            SnapshotWriter().users(("a", [])).groups(.init(name: "g", owner: "a", files: [("f", [])])),
            .inconsistentSnapshot("group g: file f has no seeder")
        ),
        (
            "a seeder who is no member",
            SnapshotWriter().users(("a", []), ("b", [])).groups(.init(name: "g", owner: "a", files: [("f", ["b"])])),
            .inconsistentSnapshot("group g: seeder b of f is no member or twice")
        ),
        (
            "a file twice",
            SnapshotWriter().users(("a", [])).groups(
                .init(name: "g", owner: "a", files: [("f", ["a"]), ("f", ["a"])])),
            .inconsistentSnapshot("group g: file f appears twice")
        ),
    ]

    @Test(arguments: Self.inconsistent)
    func inconsistentSnapshotsThrow(_ label: String, _ writer: SnapshotWriter, _ error: TrackerCodecError) {
        #expect(throws: error, "\(label)") { try Self.decode(writer.bytes) }
    }

    @Test func aHandWrittenSnapshotDecodesToTheStateOpsBuild() throws {
        let writer = SnapshotWriter().users(("a", ["a#1"]), ("b", [])).groups(
            .init(name: "g", owner: "a", members: ["b"], files: [("f", ["b", "a"])])
        )
        var state = TrackerState(pieceSize: 16)
        let ops: [TrackerOp] = [
            .createUser(user: "a", password: SnapshotWriter.password), .openSession(user: "a", token: "a#1"),
            .createUser(user: "b", password: SnapshotWriter.password), .createGroup(group: "g", owner: "a"),
            .requestJoin(group: "g", user: "b"), .acceptRequest(group: "g", owner: "a", user: "b"),
            .addFile(group: "g", name: "f", size: 0, pieceHashes: .empty, seeder: SnapshotWriter.seeder("b")),
            .addSeeder(group: "g", name: "f", seeder: SnapshotWriter.seeder("a")),
        ]
        for op in ops {
            #expect(!state.apply(op).isError, "\(op)")
        }
        #expect(try Self.decode(writer.bytes) == state)
        #expect(try Self.decode(writer.formatTwoBytes) == state)
        #expect(try Self.decode(writer.formatThreeBytes) == state)
        #expect(Self.snapshot(of: state) == writer.formatThreeBytes)
    }
}
