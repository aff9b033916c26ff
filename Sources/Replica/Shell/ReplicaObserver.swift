/// What the replica tells its metrics as it works: called on the storage's writer thread and on the driver's
/// event loop, after the work it reports is done, so each call must be quick and must not block.
public struct ReplicaObserver: Sendable {
    /// A batch of `ops` WAL records, `bytes` long, was written and `fdatasync`ed in `duration`.
    public var walBatchWritten: @Sendable (_ ops: Int, _ bytes: Int, _ duration: Duration) -> Void
    /// This tracker took the primary role (by agreement, after the other's silence, by force or by switchover).
    public var becamePrimary: @Sendable () -> Void
    /// A FULLSYNC snapshot began going out to the other tracker.
    public var fullSyncSent: @Sendable () -> Void
    /// A FULLSYNC snapshot from the other tracker was installed here.
    public var fullSyncInstalled: @Sendable () -> Void

    /// An observer that hears each report.
    public init(
        walBatchWritten: @escaping @Sendable (_ ops: Int, _ bytes: Int, _ duration: Duration) -> Void,
        becamePrimary: @escaping @Sendable () -> Void, fullSyncSent: @escaping @Sendable () -> Void,
        fullSyncInstalled: @escaping @Sendable () -> Void
    ) {
        self.walBatchWritten = walBatchWritten
        self.becamePrimary = becamePrimary
        self.fullSyncSent = fullSyncSent
        self.fullSyncInstalled = fullSyncInstalled
    }

    /// Hears nothing.
    public static let none = ReplicaObserver(
        walBatchWritten: { _, _, _ in }, becamePrimary: {}, fullSyncSent: {}, fullSyncInstalled: {})
}
