import ReplicaCore
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the records of a data directory's WAL for catch-up, remembering where the last read stopped so a
/// stream of batches reads each byte once.
final class DiskLogReader: StorageLogReader {
    private let directory: DataDirectory
    /// Entries before this are only in the newest snapshot (the writer moves it as snapshots come and go).
    var firstSeq: UInt64
    /// Where the last read stopped: the segment, the byte offset in it, and the seq found there.
    private var cursor: (segment: UInt64, offset: Int, seq: UInt64)?

    init(directory: DataDirectory, firstSeq: UInt64) {
        self.directory = directory
        self.firstSeq = firstSeq
    }

    /// Forgets the read position: the log was cut or replaced.
    func reset() { self.cursor = nil }

    func records(from seq: UInt64, maxBytes: Int) -> [LogRecord] {
        guard seq >= self.firstSeq, let segments = try? self.directory.segments() else { return [] }
        var position: (segment: UInt64, offset: Int)
        if let cursor = self.cursor, cursor.seq == seq, segments.contains(cursor.segment) {
            position = (cursor.segment, cursor.offset)
        } else if let segment = segments.last(where: { $0 <= seq }) {
            position = (segment, 0)
        } else {
            return []
        }
        var records: [LogRecord] = []
        var bytes = 0
        var length = max(maxBytes, 1 << 16)
        reading: while true {
            let path = self.directory.segmentPath(firstSeq: position.segment)
            guard let chunk = try? PosixFile.readRange(path, from: position.offset, length: length) else { break }
            let scan = LogScan.scan(chunk)
            if scan.records.isEmpty {
                if chunk.readableBytes == length {
                    length *= 2  // One record longer than the read: read more.
                    continue
                }
                // Nothing more in this segment: on to the next, if there is one.
                guard let next = segments.first(where: { $0 > position.segment }) else { break }
                position = (next, 0)
                continue
            }
            for record in scan.records {
                if record.seq >= seq {
                    if !records.isEmpty && bytes + record.payload.readableBytes > maxBytes { break reading }
                    records.append(record)
                    bytes += record.payload.readableBytes
                }
                position.offset += record.encodedLength
            }
        }
        if let last = records.last { self.cursor = (position.segment, position.offset, last.seq + 1) }
        return records
    }
}

/// Cuts a data directory's WAL back to a seq, writing what it cuts to a `cut-*.log` file beside it (never a
/// silent drop): the records a tracker held that the primary's log does not.
enum LogCutter {
    /// Cuts every record after `seq`. With `dropSnapshots` every snapshot is moved aside too (the primary
    /// replaces the whole state: a FULLSYNC follows). Returns the number of records cut and where they went.
    static func cut(
        after seq: UInt64, dropSnapshots: Bool, in directory: DataDirectory, now: UInt64
    ) throws(ReplicaError) -> (count: Int, path: String?) {
        var aside = ByteBufferAllocator().buffer(capacity: 0)
        var count = 0
        for segment in try directory.segments().reversed() {
            let path = directory.segmentPath(firstSeq: segment)
            let scan = LogScan.scan(try PosixFile.readAll(path))
            guard let cutAt = scan.records.firstIndex(where: { $0.seq > seq }) else { continue }
            for record in scan.records[cutAt...] { aside.writeLogRecord(record) }
            count += scan.records.count - cutAt
            if cutAt == 0 {
                unlink(path)
            } else {
                let offset = scan.records[..<cutAt].reduce(0) { $0 + $1.encodedLength }
                guard truncate(path, off_t(offset)) == 0 else { throw .io("truncate", path: path, errno: errno) }
            }
        }
        var asidePath: String?
        if count > 0 {
            let path = directory.path + "/cut-\(now)-\(seq + 1).log"
            try PosixFile.writeAtomically(aside, to: path, in: directory)
            asidePath = path
        }
        if dropSnapshots {
            for snapshot in try directory.snapshots() {
                let path = directory.snapshotPath(seq: snapshot)
                guard rename(path, directory.path + "/cut-\(now)-snapshot-\(snapshot).snap") == 0 else {
                    throw .io("rename", path: path, errno: errno)
                }
            }
        }
        try directory.sync()
        return (count, asidePath)
    }
}
