import Foundation
import NIOCore
import Replica
import ReplicaCore
import Testing

/// The recorded durable position (`data_dir/durable`): a log cut back before it by something other than a crash
/// stops start-up, naming what is missing; a crash's torn tail, after it, is still cut and recovered from.
@Suite struct DurableMarkTests {
    static let ops = KeyValueMachine.Op.randomSequence(count: 40, seed: 29)

    /// Writes `ops` through a real store and closes it, so the mark holds the last seq.
    static func writeAndClose(_ directory: DataDirectory, snapshotEveryOps: Int = 10_000) async throws -> UInt64 {
        let store = try openStore(directory, snapshotEveryOps: snapshotEveryOps)
        for op in Self.ops { _ = try await store.propose(op) }
        let last = store.lastSeq
        store.close()
        return last
    }

    static func recover(_ directory: DataDirectory) throws(ReplicaError) -> Recovery<KeyValueMachine> {
        try Recovery.recover(from: directory, initial: KeyValueMachine(), logger: .quiet)
    }

    @Test func aCleanStopRecordsTheLastSeqAndReopens() async throws {
        try await withTemporaryDataDirectory { directory in
            let last = try await Self.writeAndClose(directory)
            let mark = try DiskFile.read(directory.path + "/durable")
            #expect(mark.count == 12)
            #expect(mark.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } == last)
            #expect(try Self.recover(directory).lastSeq == last)
        }
    }

    @Test func aTruncatedSegmentStopsStartUp() async throws {
        try await withTemporaryDataDirectory { directory in
            let last = try await Self.writeAndClose(directory)
            let segment = try directory.lastSegmentPath()
            let scan = LogScan.scan(ByteBuffer(bytes: try DiskFile.read(segment)))
            let half = scan.records.prefix(scan.records.count / 2)
            let length = half.reduce(0) { $0 + $1.encodedLength }
            try DiskFile.truncate(segment, to: length)
            #expect(
                throws: ReplicaError.lostDurableOps(
                    directory: directory.path, end: half.last!.seq, durable: last, lastFile: segment, offset: length)
            ) { try Self.recover(directory) }
            #expect(throws: ReplicaError.self) { try openStore(directory) }
        }
    }

    @Test func aZeroedTailStopsStartUp() async throws {
        try await withTemporaryDataDirectory { directory in
            let last = try await Self.writeAndClose(directory)
            let segment = try directory.lastSegmentPath()
            var bytes = try DiskFile.read(segment)
            for index in (bytes.count / 2)..<bytes.count { bytes[index] = 0 }
            try DiskFile.write(bytes, to: segment)
            let error = try #require(throws: ReplicaError.self) { try Self.recover(directory) }
            #expect(error.description.contains("lost acknowledged ops"), "\(error)")
            #expect(error.description.contains("through seq \(last)"), "\(error)")
            #expect(try DiskFile.size(segment) == bytes.count, "nothing was cut")
        }
    }

    @Test func aDeletedNewestSegmentAfterASnapshotStopsStartUp() async throws {
        try await withTemporaryDataDirectory { directory in
            let last = try await Self.writeAndClose(directory, snapshotEveryOps: 15)
            #expect(try !directory.snapshots().isEmpty, "the deleted segment is the one after a snapshot")
            try FileManager.default.removeItem(atPath: try directory.lastSegmentPath())
            let error = try #require(throws: ReplicaError.self) { try Self.recover(directory) }
            #expect(error.description.contains("through seq \(last)"), "\(error)")
        }
    }

    @Test func aCrashesTornTailAfterTheMarkIsStillCut() async throws {
        try await withTemporaryDataDirectory { directory in
            let last = try await Self.writeAndClose(directory)
            let segment = try directory.lastSegmentPath()
            let size = try DiskFile.size(segment)
            try DiskFile.append([0, 0, 0, 40, 1, 2, 3], to: segment)
            #expect(try Self.recover(directory).lastSeq == last)
            #expect(try DiskFile.size(segment) == size)
        }
    }

    @Test func aTornTailLongerThanOneWriteStopsStartUp() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            try directory.writeSegment(
                firstSeq: 1,
                records: Self.ops.prefix(3).enumerated().map {
                    LogRecord(seq: UInt64($0.offset + 1), op: $0.element)
                })
            let segment = try directory.lastSegmentPath()
            let whole = try DiskFile.size(segment)
            try DiskFile.append([UInt8](repeating: 0, count: 9 << 20), to: segment)
            let error = try #require(throws: ReplicaError.self) { try Self.recover(directory) }
            #expect(error.description.contains("from byte \(whole) on are damaged"), "\(error)")
            #expect(try DiskFile.size(segment) == whole + 9 << 20, "nothing was cut")
        }
    }

    @Test func aDamagedMarkStopsStartUp() async throws {
        try await withTemporaryDataDirectory { directory in
            _ = try await Self.writeAndClose(directory)
            try DiskFile.flipByte(at: 3, in: directory.path + "/durable")
            let error = try #require(throws: ReplicaError.self) { try Self.recover(directory) }
            #expect(error.description.contains("/durable, the recorded durable position of the WAL, is damaged"), "\(error)")
        }
    }
}
