/// What the shell must do after one input to ``ReplicaCore``, in this order: persist the epoch, cut the log,
/// persist records, send messages, apply, and the rest.
///
/// Messages may go out before `persist` is durable: the core makes no message that claims durability (acks are
/// made only by ``ReplicaCore/persisted(through:)``, once the shell says the records are on disk).
public struct ReplicaReady: Hashable, Sendable {
    /// Make this epoch durable first (the highest epoch seen, and so any vote given in it): after a restart the
    /// node starts from it, so it never takes or votes in an epoch twice.
    public var persistEpoch: UInt64?
    /// Cut the local log back to this seq. What is cut is written aside (never silently dropped).
    public var truncateAfter: UInt64?
    /// Append these records to the local log, in order, then report ``ReplicaCore/persisted(through:)``.
    public var persist: [LogRecord] = []
    /// Send these to the peer, in order; drop them if it is not connected.
    public var messages: [SyncMessage] = []
    /// Apply every entry up to this seq to the state machine (and answer their proposers).
    public var applyThrough: UInt64?
    /// Entries already applied were cut: rebuild the state from disk (snapshot and log) up to the cut.
    public var rebuildState = false
    /// Stream the newest snapshot to the peer (FULLSYNC), then report ``ReplicaCore/snapshotSent(at:log:)``.
    public var sendSnapshot = false
    /// This node stepped down: proposals after this seq will not be answered here; tell their clients to retry
    /// on the primary (their request ids make the retry safe).
    public var abandonAfter: UInt64?
    /// The role changed to this.
    public var newRole: ReplicaRole?

    /// Nothing to do.
    public init() {}

    /// Whether there is nothing to do.
    public var isEmpty: Bool { self == ReplicaReady() }
}
