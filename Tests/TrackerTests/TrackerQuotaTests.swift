import NIOCore
import Testing
import Tracker
import Wire

/// Quotas: what a user holds is counted as ops apply, refused past the limit when prepared, and given back when
/// groups and files go.
@Suite struct TrackerQuotaTests {
    static func harness(_ quotas: Quotas) -> TrackerHarness {
        var harness = TrackerHarness()
        harness.quotas = quotas
        harness.signUp("alice", "bob")
        return harness
    }

    static func upload(_ name: String, pieces: Int = 1, group: String = "g") -> Request {
        .uploadFile(
            group: group, name: name, size: UInt64(pieces) * 16,
            pieceHashes: PieceHashes(bytes: [UInt8](repeating: 1, count: 20 * pieces))!, port: 7001)
    }

    @Test func groupsPastTheQuotaAreRefusedUntilOneIsDissolved() {
        var harness = Self.harness(Quotas(groupsPerUser: 2))
        #expect(harness.send(.createGroup(group: "one"), as: "alice") == .ok)
        #expect(harness.send(.createGroup(group: "two"), as: "alice") == .ok)
        guard case .error(.quotaExceeded, let message) = harness.send(.createGroup(group: "three"), as: "alice") else {
            Issue.record("a third group was created")
            return
        }
        #expect(message.contains("alice owns 2 groups already (quotas.groups_per_user)"))
        #expect(harness.send(.createGroup(group: "three"), as: "bob") == .ok, "the quota is per user")
        #expect(harness.send(.leaveGroup(group: "one"), as: "alice") == .ok)
        #expect(harness.send(.createGroup(group: "three-again"), as: "alice") == .ok)
    }

    @Test func filesAndTheirMetadataPastTheQuotaAreRefusedUntilSomeGo() {
        var harness = Self.harness(Quotas(filesPerUser: 2, metadataPerUser: 100))
        _ = harness.send(.createGroup(group: "g"), as: "alice")
        guard case .fileID = harness.send(Self.upload("a"), as: "alice"),
            case .fileID = harness.send(Self.upload("b"), as: "alice")
        else {
            Issue.record("uploads under the quota were refused")
            return
        }
        guard case .error(.quotaExceeded, let files) = harness.send(Self.upload("c"), as: "alice") else {
            Issue.record("a third file was registered")
            return
        }
        #expect(files.contains("registered 2 files already (quotas.files_per_user)"))
        #expect(harness.send(.stopShare(group: "g", name: "a"), as: "alice") == .ok)
        // 20 + 1 bytes for b are held; 4 pieces (80 bytes) and a name of 1 would pass 100.
        guard case .error(.quotaExceeded, let metadata) = harness.send(Self.upload("c", pieces: 4), as: "alice")
        else {
            Issue.record("metadata past the quota was registered")
            return
        }
        #expect(metadata.contains("quotas.metadata_per_user"))
        guard case .fileID = harness.send(Self.upload("c", pieces: 3), as: "alice") else {
            Issue.record("metadata under the quota was refused")
            return
        }
    }

    @Test func usageIsTheSameRebuiltFromASnapshotAsCountedAlongTheWay() throws {
        var harness = Self.harness(Quotas())
        _ = harness.send(.createGroup(group: "g"), as: "alice")
        _ = harness.send(.joinGroup(group: "g"), as: "bob")
        _ = harness.send(.acceptRequest(group: "g", user: "bob"), as: "alice")
        _ = harness.send(Self.upload("mine", pieces: 2), as: "bob")
        _ = harness.send(.newSeeder(group: "g", name: "mine", port: 7002), as: "alice")
        // Bob leaves: his seeding goes, the file stays (alice seeds it), and it is still his registration.
        _ = harness.send(.leaveGroup(group: "g"), as: "bob")
        var buffer = ByteBuffer()
        harness.state.encodeSnapshot(into: &buffer)
        #expect(try TrackerState.decodeSnapshot(from: &buffer) == harness.state)
        // Dissolving the group gives back its files, whoever registered them.
        _ = harness.send(.leaveGroup(group: "g"), as: "alice")
        var empty = ByteBuffer()
        harness.state.encodeSnapshot(into: &empty)
        var fresh = TrackerHarness()
        fresh.signUp("alice", "bob")
        var expected = ByteBuffer()
        fresh.state.encodeSnapshot(into: &expected)
        #expect(try TrackerState.decodeSnapshot(from: &empty) == TrackerState.decodeSnapshot(from: &expected))
    }
}
