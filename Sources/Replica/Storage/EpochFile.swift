import ReplicaCore
/// The highest epoch a tracker has seen, in `data_dir/epoch` (a ``NumberFile``).
///
/// Written (atomically, fsynced) before the tracker acts in a new epoch, so that after a restart it never takes,
/// or votes in, an epoch twice.
enum EpochFile {
    static let file = NumberFile(name: "epoch", meaning: "the highest epoch this tracker has seen")

    /// The saved epoch; 0 when none was saved.
    static func read(from directory: DataDirectory) throws(ReplicaError) -> UInt64 {
        try Self.file.read(from: directory) ?? 0
    }

    /// Saves `epoch` durably.
    static func save(_ epoch: UInt64, in directory: DataDirectory) throws(ReplicaError) {
        try Self.file.save(epoch, in: directory)
    }
}
