import ReplicaCore
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A state machine rebuilt from a data directory: the newest snapshot plus the WAL after it.
public struct Recovery<Machine: StateMachine>: Sendable {
    /// The state after the last valid record.
    public var machine: Machine
    /// The epochs of the log and where each begins (the snapshot's epoch begins at its seq).
    public var history: EpochHistory
    /// The seq of the last op (0 for an empty log).
    public var lastSeq: UInt64
    /// The seq of the snapshot recovery started from (0 when there was none).
    public var snapshotSeq: UInt64
    /// Where the log ends.
    public var last: LogPosition { LogPosition(epoch: self.history.epoch(of: self.lastSeq) ?? 0, seq: self.lastSeq) }
    /// The first seq of the segment new records go to, if a segment exists.
    public var openSegment: UInt64?
    /// Torn tails that were cut: the segment's path and how many bytes were dropped.
    public var cutTails: [(path: String, bytes: Int)]

    /// Rebuilds the state from `directory`, cutting a torn tail off the last segment.
    ///
    /// - Throws: ``ReplicaError`` when a snapshot or a record before the end of the log is damaged, the log has a
    ///   gap, its torn tail is longer than a crash can leave, or it ends before the recorded durable position
    ///   (``DurableMark``): start-up must stop rather than silently skip acknowledged ops.
    public static func recover(
        from directory: DataDirectory, initial: Machine, logger: Logger
    ) throws(ReplicaError) -> Recovery {
        var recovery = Recovery(
            machine: initial, history: EpochHistory(), lastSeq: 0, snapshotSeq: 0, openSegment: nil, cutTails: [])
        if let newest = try directory.snapshots().last {
            let path = directory.snapshotPath(seq: newest)
            let snapshot = try SnapshotFile.decode(try PosixFile.readAll(path), path: path)
            // The checksum covers only the state; the name is a second copy of the seq that checks the header's.
            guard snapshot.seq == newest else {
                throw .corruptSnapshot(path: path, detail: "its header says seq \(snapshot.seq)")
            }
            var payload = snapshot.payload
            do {
                recovery.machine = try Machine.decodeSnapshot(from: &payload)
            } catch {
                throw .corruptSnapshot(path: path, detail: "state does not decode: \(error)")
            }
            recovery.history = EpochHistory([EpochHistory.Start(epoch: snapshot.epoch, firstSeq: snapshot.seq)])
            recovery.lastSeq = snapshot.seq
            recovery.snapshotSeq = snapshot.seq
        }
        let segments = try directory.segments()
        var end: SegmentEnd?
        for (index, firstSeq) in segments.enumerated() {
            let isLast = index == segments.count - 1
            if !isLast, segments[index + 1] <= recovery.lastSeq + 1 { continue }
            // A segment is named after its first seq even while it is empty (a crash right after a rotation),
            // so its name alone can show ops missing before it.
            guard firstSeq <= recovery.lastSeq + 1 else {
                let path = directory.segmentPath(firstSeq: firstSeq)
                throw .gap(path: path, expected: recovery.lastSeq + 1, found: firstSeq)
            }
            end = try recovery.replay(segment: firstSeq, in: directory, isLast: isLast)
        }
        recovery.openSegment = segments.last
        // Checked before a torn tail is cut, so that a log damaged by something other than a crash is left as found.
        if let durable = try DurableMark.read(from: directory), recovery.lastSeq < durable {
            throw .lostDurableOps(
                directory: directory.path, end: recovery.lastSeq, durable: durable, lastFile: end?.path,
                offset: end?.wholeBytes ?? 0)
        }
        if let torn = end, torn.dropped > 0 {
            guard truncate(torn.path, off_t(torn.wholeBytes)) == 0 else {
                throw .io("truncate", path: torn.path, errno: errno)
            }
            logger.warning(
                "cut a torn WAL tail left by a crash",
                metadata: [
                    "wal.path": "\(torn.path)", "wal.offset": "\(torn.wholeBytes)",
                    "wal.dropped_bytes": "\(torn.dropped)",
                ])
            recovery.cutTails.append((torn.path, torn.dropped))
        }
        return recovery
    }

    /// Where a segment's whole records end, and how many torn bytes follow them.
    private struct SegmentEnd {
        var path: String
        var wholeBytes: Int
        var dropped: Int
    }

    /// The most bytes a crash can leave torn after the last whole record: one write of the WAL writer (a batch of
    /// at most ``SegmentWriter/maxBatchBytes``, or one larger record, which its header declares).
    static func tornTailLimit(of bytes: ByteBuffer, at offset: Int) -> Int {
        let declared = bytes.getInteger(at: bytes.readerIndex + offset, as: UInt32.self).map(Int.init) ?? 0
        return max(SegmentWriter.maxBatchBytes, LogRecord.headerLength + min(declared, LogRecord.maxPayloadLength))
    }

    /// Applies a segment's records; returns where they end, for the caller to cut a torn tail of the last one.
    private mutating func replay(
        segment firstSeq: UInt64, in directory: DataDirectory, isLast: Bool
    ) throws(ReplicaError) -> SegmentEnd {
        let path = directory.segmentPath(firstSeq: firstSeq)
        let bytes = try PosixFile.readAll(path)
        let scan = LogScan.scan(bytes)
        var end = SegmentEnd(path: path, wholeBytes: bytes.readableBytes, dropped: 0)
        switch scan.ending {
        case .clean:
            break
        case .corrupt(let offset, let detail):
            throw .corruptRecord(path: path, offset: offset, detail: detail)
        case .tornTail(let offset):
            guard isLast else {
                throw .corruptRecord(path: path, offset: offset, detail: "a segment other than the last ends torn")
            }
            let dropped = bytes.readableBytes - offset
            let limit = Self.tornTailLimit(of: bytes, at: offset)
            guard dropped <= limit else {
                throw .tornTooFar(path: path, offset: offset, bytes: dropped, limit: limit)
            }
            end = SegmentEnd(path: path, wholeBytes: offset, dropped: dropped)
        }
        for record in scan.records where record.seq > self.lastSeq {
            guard record.seq == self.lastSeq + 1 else {
                throw .gap(path: path, expected: self.lastSeq + 1, found: record.seq)
            }
            guard record.epoch >= self.history.lastEpoch else {
                throw .corruptRecord(
                    path: path, offset: 0,
                    detail:
                        "op \(record.seq) has epoch \(record.epoch), older than the \(self.history.lastEpoch) before it"
                )
            }
            // An empty record marks where a primary's epoch begins (docs/REPLICATION.md); it changes no state.
            if record.payload.readableBytes > 0 {
                var payload = record.payload
                let op: Machine.Op
                do {
                    op = try Machine.decodeOp(from: &payload)
                } catch {
                    throw .undecodable(path: path, seq: record.seq, detail: "\(error)")
                }
                _ = self.machine.apply(op)
            }
            self.lastSeq = record.seq
            self.history.note(epoch: record.epoch, seq: record.seq)
        }
        return end
    }
}
