import ReplicaCore
import NIOCore

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

    /// The whole records appended since the last poll; a record still being written waits for the next.
    /// - Throws: ``ReplicaError`` when the directory cannot be listed or a segment cannot be read.
    public mutating func poll() throws(ReplicaError) -> [LogRecord] {
        var records: [LogRecord] = []
        while true {
            let segments = try self.directory.segments()
            guard let current = self.segment ?? segments.first else { return records }
            self.segment = current
            let path = self.directory.segmentPath(firstSeq: current)
            var fresh = ByteBuffer()
            do {
                fresh = try PosixFile.readAll(path, from: self.offset)
            } catch  where error.isMissingFile {
                // Trimmed behind a snapshot, even between the listing and the read: it has nothing more.
            }
            let scan = LogScan.scan(fresh)
            records += scan.records
            self.offset += scan.validLength
            // Move on only once this segment is done: a newer one exists and this one has nothing more whole.
            guard let next = segments.first(where: { $0 > current }), scan.validLength == 0 else { return records }
            self.segment = next
            self.offset = 0
        }
    }
}
