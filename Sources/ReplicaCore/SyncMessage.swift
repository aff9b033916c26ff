import NIOCore

/// What two trackers say to each other on the sync port, after the connection is authenticated.
///
/// Every message carries the sender's epoch: a node that sees a higher one steps down at once (fencing), and a
/// node that sees a lower one answers with its own, so the stale sender learns it.
public enum SyncMessage: Hashable, Sendable {
    /// Sent by each side when a sync connection opens: who I am now and where my durable log ends.
    case hello(Hello)
    /// A node that should lead (no primary between us, and its log is the longer) asks to become primary of
    /// `candidate.epoch`. Promoting needs the other's vote, so two nodes never both take over.
    case requestVote(candidate: Hello)
    /// The answer: `voter.epoch` is the epoch voted on; a vote is given at most once per epoch.
    case vote(granted: Bool, voter: Hello)
    /// Primary to backup: the records following `previous` (none for a heartbeat), whether the primary counts
    /// the backup in sync (its acks hold up replies), and the primary's commit point.
    case append(Append)
    /// Backup to primary: my durable (and applied) log ends at `position`, in an epoch begun at `epochStart`.
    /// Sent for every append; `number` counts this node's acks, and the primary echoes the last one it heard
    /// (``Append/ackEcho``). A position the primary does not hold tells it the logs part, as `mismatch` does.
    case ack(epoch: UInt64, position: LogPosition, epochStart: UInt64, number: UInt64)
    /// Backup to primary: `previous` of your last append is not in my log, which ends at `position`; the epoch
    /// of `position` begins at `epochStart` in it.
    case mismatch(epoch: UInt64, position: LogPosition, epochStart: UInt64)
    /// Primary to backup: your log diverged after `seq`; cut it back there (keeping what is cut aside).
    case truncate(epoch: UInt64, afterSeq: UInt64)
    /// Primary to backup: what I need to send you was trimmed; a snapshot at `position` follows (FULLSYNC).
    case snapshotFollows(epoch: UInt64, position: LogPosition)
    /// Primary to backup, in a switchover: my log ends at `through`, which you hold durably, and I take no more
    /// writes; become primary in a new epoch.
    case takeOver(epoch: UInt64, through: LogPosition)

    /// The sender's epoch.
    public var epoch: UInt64 {
        switch self {
        case .hello(let hello), .requestVote(let hello), .vote(_, let hello): hello.epoch
        case .append(let append): append.epoch
        case .ack(let epoch, _, _, _), .mismatch(let epoch, _, _), .truncate(let epoch, _),
            .snapshotFollows(let epoch, _), .takeOver(let epoch, _):
            epoch
        }
    }
}

/// The first thing each side of a sync connection says.
public struct Hello: Hashable, Sendable {
    /// The highest epoch the sender knows of.
    public var epoch: UInt64
    /// What the sender is now.
    public var role: ReplicaRole
    /// Where the sender's durable log ends.
    public var position: LogPosition
    /// Where the epoch of `position` begins in the sender's log: with it a primary that never had that epoch
    /// knows the logs part at or before this seq.
    public var epochStart: UInt64

    /// A hello from a node in `role` at `epoch` whose log ends at `position`, in an epoch begun at `epochStart`.
    public init(epoch: UInt64, role: ReplicaRole, position: LogPosition, epochStart: UInt64) {
        self.epoch = epoch
        self.role = role
        self.position = position
        self.epochStart = epochStart
    }
}

/// Records from the primary, or a heartbeat when there are none.
public struct Append: Hashable, Sendable {
    /// The primary's epoch.
    public var epoch: UInt64
    /// The entry just before `records` in the primary's log; the backup must hold it to take them.
    public var previous: LogPosition
    /// The records, in seq order, following `previous` without a gap.
    public var records: [LogRecord]
    /// The primary's commit point: every entry up to it is acknowledged to clients.
    public var commitSeq: UInt64
    /// Whether the primary counts the backup in sync: only a backup that was in sync may promote itself.
    public var backupInSync: Bool
    /// The number of the last ack the primary heard from the backup. A backup trusts `backupInSync` only from
    /// an append that echoes an ack it sent since it last stalled: an older append may predate the primary
    /// taking it for dead.
    public var ackEcho: UInt64

    /// An append of `records` after `previous`.
    public init(
        epoch: UInt64, previous: LogPosition, records: [LogRecord], commitSeq: UInt64, backupInSync: Bool,
        ackEcho: UInt64
    ) {
        self.epoch = epoch
        self.previous = previous
        self.records = records
        self.commitSeq = commitSeq
        self.backupInSync = backupInSync
        self.ackEcho = ackEcho
    }
}

/// What a tracker is in the pair.
public enum ReplicaRole: UInt8, Hashable, Sendable, CustomStringConvertible {
    /// Just started: serves reads, waits to learn or agree who the primary is.
    case waiting = 0
    /// Takes writes, gives them positions, replicates them.
    case primary = 1
    /// Follows the primary's log.
    case backup = 2

    /// `waiting`, `primary` or `backup`.
    public var description: String {
        switch self {
        case .waiting: "waiting"
        case .primary: "primary"
        case .backup: "backup"
        }
    }
}
