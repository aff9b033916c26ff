/// When a tracker writes a snapshot and trims its WAL (`storage` in `cluster.yaml`).
///
/// A snapshot is taken when either threshold is reached since the last one.
public struct StorageConfig: Hashable, Sendable {
    /// Ops appended since the last snapshot. Default 100000: replaying that many at start-up takes under a second.
    public var snapshotEveryOps: Int
    /// WAL bytes written since the last snapshot. Default 64MiB.
    public var snapshotEveryBytes: Int

    /// Creates the section; the defaults are those of an absent `storage` section.
    public init(snapshotEveryOps: Int = 100_000, snapshotEveryBytes: Int = 64 << 20) {
        self.snapshotEveryOps = snapshotEveryOps
        self.snapshotEveryBytes = snapshotEveryBytes
    }
}
