import Foundation
import NIOCore
import Replica
import ReplicaCore
import Testing

/// Recovery from data directories written by hand: the cases a running store never produces by itself.
@Suite struct RecoveryTests {
    static let ops = KeyValueMachine.Op.randomSequence(count: 8, seed: 13)

    static func records(_ seqs: ClosedRange<UInt64>) -> [LogRecord] {
        seqs.map { LogRecord(seq: $0, op: Self.ops[Int($0) - 1]) }
    }

    static func recover(_ directory: DataDirectory) throws(ReplicaError) -> Recovery<KeyValueMachine> {
        try Recovery.recover(from: directory, initial: KeyValueMachine(), logger: .quiet)
    }

    static func writeSnapshot(of seq: UInt64, in directory: DataDirectory) throws {
        var payload = ByteBuffer()
        KeyValueMachine.replaying(Self.ops.prefix(Int(seq))).encodeSnapshot(into: &payload)
        let bytes = SnapshotFile(epoch: 1, seq: seq, payload: payload).encoded()
        try DiskFile.write(Array(bytes.readableBytesView), to: directory.snapshotPath(seq: seq))
    }

    @Test func emptyDirectoryRecoversTheInitialState() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            let recovery = try Self.recover(directory)
            #expect(recovery.lastSeq == 0)
            #expect(recovery.last == .start)
            #expect(recovery.openSegment == nil)
            #expect(recovery.machine == KeyValueMachine())
        }
    }

    @Test func consecutiveSegmentsReplayInOrder() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            try directory.writeSegment(firstSeq: 1, records: Self.records(1...3))
            try directory.writeSegment(firstSeq: 4, records: Self.records(4...8))
            let recovery = try Self.recover(directory)
            #expect(recovery.lastSeq == 8)
            #expect(recovery.openSegment == 4)
            #expect(recovery.machine == .replaying(Self.ops))
        }
    }

    /// A new primary's first record is an empty epoch marker: it takes its seq and changes no state.
    @Test func epochMarkersTakeASeqAndChangeNothing() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            let marker = LogRecord(epoch: 2, seq: 4, payload: ByteBuffer())
            let after = Self.records(5...8).map { LogRecord(epoch: 2, seq: $0.seq, payload: $0.payload) }
            try directory.writeSegment(firstSeq: 1, records: Self.records(1...3) + [marker] + after)
            let recovery = try Self.recover(directory)
            #expect(recovery.lastSeq == 8)
            #expect(recovery.last == LogPosition(epoch: 2, seq: 8))
            #expect(recovery.history.starts.map(\.firstSeq) == [1, 4])
            var expected = KeyValueMachine.replaying(Self.ops.prefix(3))
            for op in Self.ops[4...] { _ = expected.apply(op) }
            #expect(recovery.machine == expected)
        }
    }

    @Test func missingSegmentIsAGap() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            try directory.writeSegment(firstSeq: 1, records: Self.records(1...3))
            try directory.writeSegment(firstSeq: 6, records: Self.records(6...8))
            let expected = ReplicaError.gap(path: directory.segmentPath(firstSeq: 6), expected: 4, found: 6)
            #expect(throws: expected) { try Self.recover(directory) }
            #expect(throws: expected) { try openStore(directory) }
        }
    }

    /// A crash right after a new segment was created leaves it empty; its name still says where the log went on.
    @Test func emptyLastSegmentAfterAMissingOneIsAGap() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            try directory.writeSegment(firstSeq: 1, records: Self.records(1...3))
            try directory.writeSegment(firstSeq: 6, records: [])
            let expected = ReplicaError.gap(path: directory.segmentPath(firstSeq: 6), expected: 4, found: 6)
            #expect(throws: expected) { try Self.recover(directory) }
        }
    }

    @Test func emptyLastSegmentRightAfterTheLogIsFine() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            try directory.writeSegment(firstSeq: 1, records: Self.records(1...3))
            try directory.writeSegment(firstSeq: 4, records: [])
            let recovery = try Self.recover(directory)
            #expect(recovery.lastSeq == 3)
            #expect(recovery.openSegment == 4)
        }
    }

    @Test func tornSegmentBeforeTheLastIsCorrupt() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            try directory.writeSegment(firstSeq: 1, records: Self.records(1...3))
            try directory.writeSegment(firstSeq: 4, records: Self.records(4...8))
            let first = directory.segmentPath(firstSeq: 1)
            let size = try DiskFile.size(first)
            try DiskFile.truncate(first, to: size - 1)
            let torn = size - Self.records(3...3)[0].encodedLength
            #expect(
                throws: ReplicaError.corruptRecord(
                    path: first, offset: torn, detail: "a segment other than the last ends torn")
            ) { try Self.recover(directory) }
            #expect(try DiskFile.size(first) == size - 1)
        }
    }

    @Test func opThatDoesNotDecodeStopsStartUp() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            let bad = LogRecord(epoch: 1, seq: 2, payload: ByteBuffer(bytes: [0x09]))
            try directory.writeSegment(firstSeq: 1, records: Self.records(1...1) + [bad])
            let detail = "\(KeyValueMachine.DecodeError(detail: "unknown op kind"))"
            let expected = ReplicaError.undecodable(path: directory.segmentPath(firstSeq: 1), seq: 2, detail: detail)
            #expect(throws: expected) { try Self.recover(directory) }
        }
    }

    /// A crash after the snapshot was written but before the old segments were deleted: the records the
    /// snapshot holds are skipped, the ones after it applied once.
    @Test func snapshotThenTheRecordsAfterIt() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            try Self.writeSnapshot(of: 5, in: directory)
            try directory.writeSegment(firstSeq: 1, records: Self.records(1...8))
            let recovery = try Self.recover(directory)
            #expect(recovery.snapshotSeq == 5)
            #expect(recovery.lastSeq == 8)
            #expect(recovery.machine == .replaying(Self.ops))
        }
    }

    @Test func segmentAfterASnapshotMustStartRightAfterIt() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            try Self.writeSnapshot(of: 3, in: directory)
            try directory.writeSegment(firstSeq: 6, records: Self.records(6...8))
            #expect(throws: ReplicaError.gap(path: directory.segmentPath(firstSeq: 6), expected: 4, found: 6)) {
                try Self.recover(directory)
            }
        }
    }

    @Test func corruptNewestSnapshotStopsStartUp() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            try Self.writeSnapshot(of: 3, in: directory)
            try directory.writeSegment(firstSeq: 4, records: Self.records(4...8))
            let path = directory.snapshotPath(seq: 3)
            try DiskFile.flipByte(at: try DiskFile.size(path) - 1, in: path)
            let expected = ReplicaError.corruptSnapshot(path: path, detail: "checksum mismatch")
            #expect(throws: expected) { try Self.recover(directory) }
            #expect(throws: expected) { try openStore(directory) }
        }
    }
}

extension RecoveryTests {
    /// A snapshot's older snapshots and WAL are deleted once it is written, so moving a corrupt one aside only
    /// turns the error into a gap: the advice is to restore the data_dir.
    @Test func corruptSnapshotCannotBeMovedAside() async throws {
        try await withTemporaryDataDirectory { directory in
            let store = try openStore(directory, snapshotEveryOps: 5)
            for op in Self.ops { _ = try await store.propose(op) }
            store.close()
            let snapshot = try #require(try directory.snapshots().last)
            let path = directory.snapshotPath(seq: snapshot)
            try DiskFile.flipByte(at: 0, in: path)
            let corrupt = ReplicaError.corruptSnapshot(path: path, detail: "not a Tandem snapshot (bad magic)")
            #expect(throws: corrupt) { try openStore(directory) }
            #expect(corrupt.description.contains("restore the data_dir"))

            try FileManager.default.moveItem(atPath: path, toPath: path + ".aside")
            let segment = directory.segmentPath(firstSeq: snapshot + 1)
            #expect(throws: ReplicaError.gap(path: segment, expected: 1, found: snapshot + 1)) {
                try openStore(directory)
            }
        }
    }
}

extension RecoveryTests {
    /// The snapshot's checksum covers only the state, so a damaged seq in its header is caught by the file name.
    @Test func snapshotWhoseHeaderDisagreesWithItsNameIsCorrupt() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            try Self.writeSnapshot(of: 3, in: directory)
            try directory.writeSegment(firstSeq: 4, records: Self.records(4...8))
            let path = directory.snapshotPath(seq: 3)
            try DiskFile.flipByte(at: 20, in: path)
            let expected = ReplicaError.corruptSnapshot(path: path, detail: "its header says seq \(0xFC)")
            #expect(throws: expected) { try Self.recover(directory) }
        }
    }
}
