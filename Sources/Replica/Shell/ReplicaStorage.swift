import NIOCore
import ReplicaCore

/// The disk as the ``ReplicaDriver`` sees it: it takes work, does it in order on its own thread, and reports
/// what happened as ``StorageEvent``s, in the order it happened, through the `report` it was given.
///
/// Contract:
/// - ``submit(_:)`` only queues and never blocks; it is called on the driver's executor.
/// - Appends are durable (`fdatasync` returned) before ``StorageEvent/persisted(through:)`` names them; consecutive
///   appends may share one write and one sync (group commit).
/// - After a write fails, the appends of that ``StorageWork/append(_:generation:)`` generation and older that are
///   still queued are dropped: the driver cuts them from its bookkeeping and appends under a newer generation.
/// - Every ``StorageWork/saveEpoch(_:)``, ``StorageWork/rebuild``, ``StorageWork/endReceiving`` and
///   ``StorageWork/install(_:)`` is answered by its event, unless the storage stopped before it: the driver
///   waits for those answers (its messages wait for an epoch saved).
/// - After ``StorageEvent/stopped(_:)`` nothing more is done to the directory, and the driver leaves the pair.
/// - ``log`` is read on the driver's executor only.
public protocol ReplicaStorage<Machine>: AnyObject, Sendable {
    /// The state machine whose ops and snapshots are stored.
    associatedtype Machine: StateMachine

    /// Reads the log for a backup's catch-up.
    var log: any StorageLogReader { get }

    /// The newest snapshot, to stream to the other tracker (FULLSYNC); nil when there is none.
    var newestSnapshotPath: String? { get }

    /// Queues `work`, done in order.
    func submit(_ work: [StorageWork<Machine>])

    /// Appends `records` at once on the calling thread, when nothing else is queued or under way, and returns
    /// the events it would have reported; nil when it cannot (the driver then submits them).
    func appendNow(_ records: [LogRecord], generation: Int) -> [StorageEvent<Machine>]?

    /// Does the queued work, waits for a snapshot being written, and closes the files. Called once, off the
    /// driver's executor; events it reports meanwhile still reach the driver.
    func close()
}

extension ReplicaStorage {
    /// Never appends at once: every write waits for its turn in the queue.
    public func appendNow(_ records: [LogRecord], generation: Int) -> [StorageEvent<Machine>]? { nil }
}

/// The log reader the storage hands the core, which the driver points at what is still in the log.
public protocol StorageLogReader: AnyObject, ReplicaLogReader {
    /// The first seq still in the log; entries before it are only in the newest snapshot.
    var firstSeq: UInt64 { get set }
    /// Forgets any read position: the log was cut or replaced.
    func reset()
}

/// Work the driver gives the storage, done in order.
public enum StorageWork<Machine: StateMachine>: Sendable {
    /// Make this epoch durable: reported as ``StorageEvent/epochSaved(_:)``; the driver's messages wait for it.
    case saveEpoch(UInt64)
    /// Cut the log back to `after`, keeping what is cut aside; with `dropSnapshots` move the snapshots aside
    /// too (a FULLSYNC will replace the state).
    case cut(after: UInt64, dropSnapshots: Bool)
    /// Append these records; `generation` goes up each time the driver hears of a failed write.
    case append([LogRecord], generation: Int)
    /// Rebuild the state from the snapshot and the log: reported as ``StorageEvent/rebuilt(_:seq:)``.
    case rebuild
    /// Write a snapshot of `machine`, the state after `seq`, in the background; then trim the log behind it.
    case writeSnapshot(Machine, epoch: UInt64, seq: UInt64)
    /// A FULLSYNC snapshot from the primary of `epoch` begins: its bytes follow.
    case beginReceiving(epoch: UInt64)
    /// The next bytes of the snapshot being received.
    case receive(ByteBuffer)
    /// The stream of the snapshot being received broke off: throw away what came.
    case abandonReceiving
    /// The snapshot being received ended: check and decode it (``StorageEvent/received(_:)``).
    case endReceiving
    /// Replace the state and the log with this received snapshot (``StorageEvent/installed(_:at:)``).
    case install(ReceivedSnapshot<Machine>)
    /// Throw away a received snapshot the driver does not take.
    case discard(ReceivedSnapshot<Machine>)
}

/// What the storage reports to the driver, in the order it happened.
public enum StorageEvent<Machine: StateMachine>: Sendable {
    /// The epoch of a ``StorageWork/saveEpoch(_:)`` is durable.
    case epochSaved(UInt64)
    /// Every appended record up to here is durable.
    case persisted(through: LogPosition)
    /// The records from `from` on could not be written (a full disk); nothing of them is on disk.
    case writeFailed(from: LogPosition, ReplicaError)
    /// The directory could not be updated: no more work is done.
    case stopped(ReplicaError)
    /// The state rebuilt from disk after a cut, applied through `seq`.
    case rebuilt(Machine, seq: UInt64)
    /// Enough was written since the last snapshot: the driver sends the state to snapshot.
    case snapshotDue
    /// A snapshot after `seq` was written; the log before it is gone.
    case snapshotWritten(seq: UInt64)
    /// A FULLSYNC snapshot arrived whole and decoded; nil when it did not (the error is logged).
    case received(ReceivedSnapshot<Machine>?)
    /// A received snapshot replaced the state and the log.
    case installed(Machine, at: LogPosition)
}

/// A FULLSYNC snapshot received whole, checked and decoded, waiting for the driver's word to install it.
public struct ReceivedSnapshot<Machine: StateMachine>: Sendable {
    /// The epoch of the primary that sent it.
    public var senderEpoch: UInt64
    /// Where it stands in the log.
    public var position: LogPosition
    /// The state it holds.
    public var machine: Machine
    /// The file it was received into.
    public var path: String
}
