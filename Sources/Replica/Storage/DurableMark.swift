import ReplicaCore
/// A seq known to be on disk in the WAL, in `data_dir/durable` (a ``NumberFile``).
///
/// The writer records it at most once a second after a batch is synced, and when it stops; before the log is cut
/// back (rejoining a newer primary) or replaced (FULLSYNC) it lowers it first. So a log found ending before the
/// mark lost acknowledged ops to something other than a crash (a truncated file, a deleted segment), and recovery
/// stops instead of starting without them. A crash can lose at most the last unsynced batch, which is after it.
enum DurableMark {
    static let file = NumberFile(name: "durable", meaning: "the recorded durable position of the WAL")

    /// The recorded seq; nil when none was recorded (a data directory from before, or a new one).
    static func read(from directory: DataDirectory) throws(ReplicaError) -> UInt64? {
        try Self.file.read(from: directory)
    }

    /// Records `seq` durably; every op through it must be synced in the WAL.
    static func save(_ seq: UInt64, in directory: DataDirectory) throws(ReplicaError) {
        try Self.file.save(seq, in: directory)
    }

    /// Lowers the mark to `seq` when it is past it: done before the log is cut back to `seq` or replaced by a
    /// snapshot at `seq`, so that what recovery finds is never short of the mark.
    static func lower(to seq: UInt64, in directory: DataDirectory) throws(ReplicaError) {
        if let marked = try Self.read(from: directory), marked > seq { try Self.save(seq, in: directory) }
    }
}
