import Logging
import NIOCore
import Replica
import ReplicaCore
import TandemTestKit
import Testing

@Suite struct ReplicatedStateMachineTests {
    @Test func stateAndLastSeqSurviveAReopen() async throws {
        try await withTemporaryDataDirectory { directory in
            let ops = KeyValueMachine.Op.randomSequence(count: 150, seed: 7)
            var reference = KeyValueMachine()
            let store = try openStore(directory)
            #expect(store.lastSeq == 1, "the epoch marker")
            for op in ops {
                let expected = reference.apply(op)
                #expect(try await store.propose(op) == expected)
            }
            #expect(store.lastSeq == 151)
            #expect(store.read { $0 } == reference)
            store.close()

            let recovered = try openStore(directory, promote: false)
            #expect(recovered.lastSeq == 151)
            #expect(recovered.read { $0 } == reference)
            await #expect(throws: ReplicaError.notPrimary(role: .waiting, reason: "waiting for the other tracker")) {
                try await recovered.propose(.set(key: "next", value: "0"))
            }
            recovered.close()

            let reopened = try openStore(directory)
            defer { reopened.close() }
            #expect(reopened.lastSeq == 152, "a new epoch's marker")
            #expect(reopened.read { $0 } == reference)
            #expect(try await reopened.propose(.set(key: "next", value: "1")) == nil)
            #expect(reopened.lastSeq == 153)
        }
    }

    /// Group commit under contention: proposals share batches, every proposer is answered in its own order, and
    /// the log holds every op exactly once, seqs 1...1600 with no gap, whatever batches the writer made of them.
    @Test func concurrentProposersAreAllAnsweredAndLoggedWithoutGaps() async throws {
        try await withTemporaryDataDirectory { directory in
            let store = try openStore(directory)
            let answers = await withTaskGroup(of: (Int, [String?]).self) { group in
                for task in 0..<8 {
                    group.addTask {
                        var answers: [String?] = []
                        for index in 0..<200 {
                            do {
                                answers.append(
                                    try await store.propose(.set(key: "task\(task)-\(index % 10)", value: "\(index)")))
                            } catch {
                                Issue.record("task \(task), proposal \(index): \(error)")
                            }
                        }
                        return (task, answers)
                    }
                }
                return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            // Each key belongs to one task, so each answer is the value that task set ten proposals earlier.
            let expected: [String?] = (0..<200).map { $0 >= 10 ? "\($0 - 10)" : nil }
            for task in 0..<8 { #expect(answers[task] == expected, "task \(task)") }
            #expect(store.lastSeq == 1601)
            #expect(store.committedBatches < 1600, "concurrent proposals share fsyncs")
            let state = store.read { $0 }
            #expect(state.entries.count == 80)
            #expect(state.entries["task3-7"] == "197")
            store.close()

            let (records, endings) = try directory.scanSegments()
            #expect(endings.allSatisfy { $0 == .clean })
            #expect(records.map(\.seq) == Array(1...1601))
            #expect(records.first?.payload.readableBytes == 0, "the epoch marker")
            let logged = try records.dropFirst().map { record in
                var payload = record.payload
                return try KeyValueMachine.decodeOp(from: &payload)
            }
            #expect(KeyValueMachine.replaying(logged) == state)
            for task in 0..<8 {
                let values = logged.compactMap { op -> String? in
                    guard case .set(let key, let value) = op, key.hasPrefix("task\(task)-") else { return nil }
                    return value
                }
                #expect(values == (0..<200).map { "\($0)" }, "task \(task)'s ops are logged in the order it made them")
            }

            let reopened = try openStore(directory, promote: false)
            defer { reopened.close() }
            #expect(reopened.lastSeq == 1601)
            #expect(reopened.read { $0 } == state)
        }
    }

    @Test func snapshotsTrimTheLogAndRecoveryStartsFromThem() async throws {
        try await withTemporaryDataDirectory { directory in
            let ops = KeyValueMachine.Op.randomSequence(count: 1000, seed: 11)
            let store = try openStore(directory, snapshotEveryOps: 100)
            for op in ops { _ = try await store.propose(op) }
            let state = store.read { $0 }
            #expect(state == KeyValueMachine.replaying(ops))
            store.close()  // Waits for a snapshot still being written.

            // One snapshot is left, and one segment: the one started when it was taken.
            let snapshots = try directory.snapshots()
            #expect(snapshots.count == 1)
            let snapshotSeq = try #require(snapshots.last)
            #expect(snapshotSeq >= 100 && snapshotSeq <= 1001)
            #expect(try directory.segments() == [snapshotSeq + 1])
            let path = directory.snapshotPath(seq: snapshotSeq)
            let snapshot = try SnapshotFile.decode(ByteBuffer(bytes: try DiskFile.read(path)), path: path)
            var payload = snapshot.payload
            #expect(snapshot.seq == snapshotSeq)
            #expect(try KeyValueMachine.decodeSnapshot(from: &payload) == .replaying(ops.prefix(Int(snapshotSeq) - 1)))

            let recovery = try Recovery.recover(from: directory, initial: KeyValueMachine(), logger: .quiet)
            #expect(recovery.snapshotSeq == snapshotSeq)
            #expect(recovery.lastSeq == 1001)
            #expect(recovery.machine == state)

            let reopened = try openStore(directory, snapshotEveryOps: 100)
            defer { reopened.close() }
            #expect(reopened.lastSeq == 1002)
            #expect(reopened.read { $0 } == state)
            _ = try await reopened.propose(.set(key: "after", value: "reopen"))
            #expect(reopened.lastSeq == 1003)
        }
    }

    /// A crash in the middle of a write leaves half a record: it is cut, logged, and the log goes on after it.
    @Test func tornTailIsCutOnReopenAndLogged() async throws {
        try await withTemporaryDataDirectory { directory in
            let ops = KeyValueMachine.Op.randomSequence(count: 10, seed: 3)
            let store = try openStore(directory)
            for op in ops { _ = try await store.propose(op) }
            store.close()

            let segment = try directory.lastSegmentPath()
            let whole = try DiskFile.size(segment)
            var torn = ByteBuffer()
            torn.writeLogRecord(LogRecord(seq: 12, op: .set(key: "torn", value: "never acknowledged")))
            try DiskFile.append(Array(torn.readableBytesView.prefix(torn.readableBytes / 2)), to: segment)

            let capture = LogCapture()
            let recovered = try openStore(directory, logger: capture.logger, promote: false)
            #expect(recovered.lastSeq == 11, "ten ops after the epoch marker")
            #expect(recovered.read { $0 } == .replaying(ops))
            #expect(try DiskFile.size(segment) == whole)
            #expect(capture.messages.contains { $0.level == .warning && $0.message.contains("torn WAL tail") })
            recovered.close()

            let reopened = try openStore(directory)
            #expect(reopened.lastSeq == 12, "a new epoch's marker takes the torn record's seq")
            #expect(try await reopened.propose(.set(key: "torn", value: "acknowledged")) == nil)
            reopened.close()
            let again = try openStore(directory, promote: false)
            defer { again.close() }
            #expect(again.lastSeq == 13)
            #expect(again.read { $0.entries["torn"] } == "acknowledged")
            #expect(try directory.scanSegments().endings == [.clean])
        }
    }

    /// Damage before the end of the log is never skipped: start-up stops, and leaves the directory as it was.
    @Test func corruptRecordInTheMiddleStopsStartUp() async throws {
        try await withTemporaryDataDirectory { directory in
            let ops = KeyValueMachine.Op.randomSequence(count: 10, seed: 5)
            let store = try openStore(directory)
            for op in ops { _ = try await store.propose(op) }
            store.close()

            let segment = try directory.lastSegmentPath()
            let records = try directory.scanSegments().records
            let fifth = records.prefix(4).reduce(0) { $0 + $1.encodedLength }
            try DiskFile.flipByte(at: fifth + LogRecord.headerLength, in: segment)
            let sizeBefore = try DiskFile.size(segment)
            let expected = ReplicaError.corruptRecord(path: segment, offset: fifth, detail: "checksum mismatch")
            #expect(throws: expected) { try openStore(directory) }
            #expect(throws: expected) { try openStore(directory) }
            #expect(try DiskFile.size(segment) == sizeBefore)

            // Repaired, the directory opens (a failed start-up must not keep it locked) with every op.
            try DiskFile.flipByte(at: fifth + LogRecord.headerLength, in: segment)
            let repaired = try openStore(directory, promote: false)
            defer { repaired.close() }
            #expect(repaired.lastSeq == 11)
            #expect(repaired.read { $0 } == .replaying(ops))
        }
    }

    @Test func secondStoreOnTheSameDirectoryIsLockedOut() async throws {
        try await withTemporaryDataDirectory { directory in
            let first = try openStore(directory)
            _ = try await first.propose(.set(key: "owner", value: "first"))
            #expect(throws: ReplicaError.locked(path: directory.path)) { try openStore(directory, waitForLock: false) }
            #expect(first.lastSeq == 2)
            first.close()

            let second = try openStore(directory)
            defer { second.close() }
            #expect(second.read { $0.entries["owner"] } == "first")
        }
    }

    @Test func proposeAfterCloseThrowsClosed() async throws {
        try await withTemporaryDataDirectory { directory in
            let store = try openStore(directory)
            _ = try await store.propose(.set(key: "k", value: "v"))
            store.close()
            await #expect(throws: ReplicaError.closed) { try await store.propose(.delete(key: "k")) }
            #expect(store.read { $0.entries["k"] } == "v")
            #expect(store.lastSeq == 2)
        }
    }
}

extension ReplicatedStateMachineTests {
    /// Closing twice must not close the descriptors again: by then their numbers may belong to another store.
    @Test func secondCloseLeavesOtherStoresAlone() async throws {
        try await withTemporaryDataDirectory { first in
            try await withTemporaryDataDirectory { second in
                let closed = try openStore(first)
                closed.close()
                let open = try openStore(second)
                defer { open.close() }
                closed.close()
                #expect(throws: ReplicaError.locked(path: second.path)) { try openStore(second, waitForLock: false) }
                #expect(try await open.propose(.set(key: "still", value: "writable")) == nil)
                #expect(open.lastSeq == 2)
            }
        }
    }
}
