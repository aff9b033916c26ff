import ReplicaCore

/// What a data directory holds, read without changing it: for `tandemctl log`, on a stopped tracker's data dir
/// or a copy of one.
public struct LogListing: Sendable {
    /// One WAL segment as found.
    public struct Segment: Sendable {
        /// The seq its name starts at.
        public var firstSeq: UInt64
        /// The records that check out, in file order.
        public var records: [LogRecord]
        /// How the file ends: cleanly, torn (what recovery cuts), or damaged.
        public var ending: LogScan.Ending
        /// The bytes the whole records take, from the start of the file.
        public var validLength: Int
    }

    /// Ops cut from the log when this tracker rejoined a newer primary, kept aside in a file.
    public struct Cut: Sendable {
        /// The file's name in the data directory.
        public var file: String
        /// When they were cut, in seconds since 1970.
        public var time: UInt64
        /// The first seq cut: the log went on from here with the primary's ops instead.
        public var firstSeq: UInt64
        /// The records cut that check out.
        public var records: [LogRecord]
    }

    /// The snapshots, oldest first: the seq and epoch of the last op each includes.
    public var snapshots: [LogPosition]
    /// The segments, in seq order.
    public var segments: [Segment]
    /// The truncations, oldest first.
    public var cuts: [Cut]

    /// Reads every snapshot's header, the segments that hold seqs from `seq` on, and the cut files of
    /// `directory`. Nothing is written, and nothing is locked, so a running tracker's directory can be read too
    /// (its newest records may be missing or torn).
    /// - Throws: ``ReplicaError`` when a file cannot be read, or a snapshot's header is not one.
    public static func read(_ directory: DataDirectory, from seq: UInt64 = 1) throws(ReplicaError) -> LogListing {
        var snapshots: [LogPosition] = []
        for seq in try directory.snapshots() {
            snapshots.append(try SnapshotFile.position(ofFileAt: directory.snapshotPath(seq: seq)))
        }
        var segments: [Segment] = []
        let firsts = try directory.segments()
        // A segment ends where the next begins: one whose successor starts at or before `seq` holds none of it.
        for (index, first) in firsts.enumerated() where index + 1 == firsts.count || firsts[index + 1] > seq {
            let scan = LogScan.scan(try PosixFile.readAll(directory.segmentPath(firstSeq: first)))
            segments.append(
                Segment(firstSeq: first, records: scan.records, ending: scan.ending, validLength: scan.validLength))
        }
        let cuts = try directory.cutFiles().map { file throws(ReplicaError) in
            let scan = LogScan.scan(try PosixFile.readAll(directory.path + "/" + file.name))
            return Cut(file: file.name, time: file.time, firstSeq: file.firstSeq, records: scan.records)
        }
        return LogListing(snapshots: snapshots, segments: segments, cuts: cuts)
    }
}
