import NIOCore
import ReplicaCore
import Wire

/// Follows a data directory's log as records are appended (`tandemctl log --follow`): each ``poll()`` returns the
/// records written since the last one. It reads only what is new, and moves on to the next segment when the
/// tracker starts one (or trims the one being read behind a snapshot).
public struct LogTail: Sendable {
    private let directory: DataDirectory
    private var segment: UInt64?
    private var offset: Int

    /// A tail that starts after `offset` bytes of segment `segment` (nil: at the first segment there is).
    public init(directory: DataDirectory, segment: UInt64?, offset: Int) {
        self.directory = directory
        self.segment = segment
        self.offset = offset
    }

    /// Where the tail stands: its segment (0 before it has found one) and the bytes of it read.
    public var cursor: LogCursor { LogCursor(segment: self.segment ?? 0, offset: UInt64(self.offset)) }

    /// The whole records appended since the last poll, at most `limit` of them and no more once they pass
    /// `maxBytes` (at least one); a record still being written waits for the next.
    /// - Throws: ``ReplicaError`` when the directory cannot be listed or a segment cannot be read.
    public mutating func poll(limit: Int = .max, maxBytes: Int = .max) throws(ReplicaError) -> [LogRecord] {
        try self.poll(upTo: limit, maxBytes: maxBytes).records
    }

    /// As ``poll(limit:maxBytes:)``, and whether it stopped at `limit` or `maxBytes` with more records there.
    mutating func poll(upTo limit: Int, maxBytes: Int) throws(ReplicaError) -> (records: [LogRecord], more: Bool) {
        var records: [LogRecord] = []
        var bytes = 0
        while true {
            let segments = try self.directory.segments()
            guard let current = self.segment ?? segments.first else { return (records, false) }
            self.segment = current
            let path = self.directory.segmentPath(firstSeq: current)
            var fresh = ByteBuffer()
            do {
                fresh = try PosixFile.readAll(path, from: self.offset)
            } catch  where error.isMissingFile {
                // Trimmed behind a snapshot, even between the listing and the read: it has nothing more.
            }
            let scan = LogScan.scan(fresh)
            for record in scan.records {
                guard records.count < limit, records.isEmpty || bytes < maxBytes else { return (records, true) }
                records.append(record)
                bytes += record.encodedLength
                self.offset += record.encodedLength
            }
            // Move on only once this segment is done: a newer one exists and this one has nothing more whole.
            guard let next = segments.first(where: { $0 > current }), scan.validLength == 0 else {
                return (records, false)
            }
            self.segment = next
            self.offset = 0
        }
    }
}
