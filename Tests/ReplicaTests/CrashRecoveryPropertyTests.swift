import Foundation
import NIOCore
import Replica
import ReplicaCore
import TandemTestKit
import Testing

/// Random op sequences, then a crash at a random byte of the last segment: whatever the cut, a reopen gives
/// exactly the state of the ops whose records are whole, which is always a prefix of the log.
@Suite struct CrashRecoveryPropertyTests {
    @Test(arguments: 0..<32 as Range<UInt64>)
    func reopenAfterACrashGivesTheStateOfTheWholeRecords(seed: UInt64) async throws {
        var generator = SeededGenerator(seed: seed)
        // Odd seeds propose from four tasks at once, so batches hold several records and cuts land inside one;
        // even seeds propose one at a time with frequent snapshots, so cuts land after a trimmed log.
        let concurrent = seed % 2 == 1
        let snapshotEveryOps = concurrent ? 1 << 30 : Int.random(in: 3...30, using: &generator)
        let ops = KeyValueMachine.Op.randomSequence(
            count: Int.random(in: 1...120, using: &generator), seed: generator.next())
        try await withTemporaryDataDirectory { directory in
            let store = try openStore(directory, snapshotEveryOps: snapshotEveryOps)
            if concurrent {
                await withTaskGroup(of: Void.self) { group in
                    for task in 0..<4 {
                        let mine = Array(ops.enumerated().filter { $0.offset % 4 == task }.map(\.element))
                        group.addTask {
                            for op in mine { _ = try? await store.propose(op) }
                        }
                    }
                }
            } else {
                for op in ops { _ = try await store.propose(op) }
            }
            let before = store.read { $0 }
            #expect(store.lastSeq == UInt64(ops.count) + 1, "seed \(seed): the ops after the epoch marker")
            store.close()

            // The log's order is the order the ops were applied in; one at a time it is the order proposed.
            let segmentFirstSeq = try #require(try directory.segments().last, "seed \(seed)")
            let segment = directory.segmentPath(firstSeq: segmentFirstSeq)
            let bytes = try DiskFile.read(segment)
            let scan = LogScan.scan(ByteBuffer(bytes: bytes))
            #expect(scan.ending == .clean, "seed \(seed)")
            let seqs = scan.records.map(\.seq)
            #expect(seqs == Array(segmentFirstSeq..<(segmentFirstSeq + UInt64(seqs.count))), "seed \(seed)")
            let logged: [KeyValueMachine.Op]
            if concurrent {
                #expect(segmentFirstSeq == 1, "seed \(seed)")
                logged = try scan.records.dropFirst().map { record in
                    var payload = record.payload
                    return try KeyValueMachine.decodeOp(from: &payload)
                }
                #expect(logged.count == ops.count, "seed \(seed)")
            } else {
                logged = ops
            }
            #expect(KeyValueMachine.replaying(logged) == before, "seed \(seed)")

            // The crash: the last segment ends at a random byte, which only a crash before the writer recorded how
            // far it had synced can do (its record is checked by DurableMarkTests).
            let cut = Int.random(in: 0...bytes.count, using: &generator)
            try DiskFile.truncate(segment, to: cut)
            try? FileManager.default.removeItem(atPath: directory.path + "/durable")
            let boundaries = scan.records.reduce(into: [0]) { $0.append($0.last! + $1.encodedLength) }
            let whole = boundaries.lastIndex { $0 <= cut }!
            let expectedLastSeq = segmentFirstSeq - 1 + UInt64(whole)

            let reopened = try openStore(directory, snapshotEveryOps: snapshotEveryOps, promote: false)
            defer { reopened.close() }
            #expect(reopened.lastSeq == expectedLastSeq, "seed \(seed), cut at byte \(cut) of \(bytes.count)")
            #expect(
                reopened.read { $0 } == .replaying(logged.prefix(max(Int(expectedLastSeq) - 1, 0))),
                "seed \(seed), cut at byte \(cut) of \(bytes.count)")
            #expect(try DiskFile.size(segment) == boundaries[whole], "seed \(seed): the torn record was cut")
        }
    }
}
