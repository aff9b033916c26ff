import Foundation
import Logging
import NIOCore
import ReplicaCore

/// Carries out what the pair's ``ReplicaCore`` decides: it owns the core and runs on one serial executor (an
/// event loop), where every input arrives (proposals, the other tracker's messages, ticks, the storage's
/// reports) and each ``ReplicaReady`` is carried out in its documented order: disk work is submitted to the
/// ``ReplicaStorage``, messages are queued on the ``SyncLink`` (once the epoch they are sent in is durable),
/// entries are applied and their proposers answered.
///
/// The storage reports back as events on the same executor (raft's `Advance`), never by calling in from its own
/// thread. Nothing here locks, except to publish the applied state and the status for readers on other threads
/// (``AppliedState``). Not thread-safe: call it on its event loop only.
public final class ReplicaDriver<Machine: StateMachine> {
    /// Who is told a proposal's outcome: a promise, on its proposer's event loop, or the backup that forwarded it
    /// (the op is entry `seq`), answered over the link.
    public enum Completion: Sendable {
        case promise(EventLoopPromise<Machine.Output>)
        case forwarded(id: UInt64, seq: UInt64, link: any SyncLink)
    }

    typealias Outcome = (Completion, Result<Machine.Output, ReplicaError>)

    /// An input held back while a received snapshot is being installed: it belongs to the log that follows.
    enum Held {
        case message(SyncMessage)
        case forwarded(ForwardFrame)
        case snapshotBytes(ByteBuffer)
        case snapshotEnd
    }

    /// Where every call is made.
    public let eventLoop: any EventLoop
    let storage: any ReplicaStorage<Machine>
    let applied: AppliedState<Machine>
    let observer: ReplicaObserver
    let logger: Logger
    var core: ReplicaCore
    var reader: any StorageLogReader { self.storage.log }
    var proposers: [UInt64: (op: Machine.Op, completion: Completion)] = [:]
    /// Records handed to the storage and not applied yet, in seq order.
    var unapplied: [LogRecord] = []
    var link: (any SyncLink)?
    /// The other tracker's sync port refused a connection since the last tick, with no link between them.
    var peerRefused = false
    /// Whether this primary was last logged as acknowledging writes without a backup in sync.
    var servingAlone = false
    /// Primary: the bytes of the records its backup does not hold yet (up to 2^20 records back).
    var lag = LagMeter(capacity: 1 << 20)
    var roleSince = Date()
    /// Backup: writes forwarded to the primary and not answered yet, by forward id.
    var forwards: [UInt64: Completion] = [:]
    var lastForwardID: UInt64 = 0
    /// Backup: forwarded writes the primary answered, waiting until this tracker has applied their entry.
    var answered: [(seq: UInt64, completion: Completion, output: Machine.Output)] = []
    /// Goes up each time a write fails, so the storage drops the appends numbered before the failure.
    var generation = 0
    /// Why no more writes are taken: the storage stopped, or the replica is closing.
    var refusal: ReplicaError?
    /// The storage stopped (its directory could not be updated): this tracker takes no part in the pair until
    /// it is restarted; a connection is closed as it comes.
    var halted = false
    /// A snapshot stream from the primary is being written by the storage.
    var receiving = false
    /// A received snapshot is being checked or installed: inputs wait in ``held`` until it is done, and the
    /// clock's ticks are not counted (the core would count the primary silent).
    var installing = false
    var held: [Held] = []
    /// The bytes of snapshot streams in ``held``.
    var heldBytes = 0
    /// Where the snapshot being received or installed stands in the log.
    var receivingAt: LogPosition?
    /// A stream that came during an install, of a snapshot no newer than the one installed: refused once the
    /// install is over, so its frames are dropped as they come rather than held.
    var skippingHeldStream = false
    /// An epoch submitted to the storage and not yet reported saved: messages wait in ``outbox`` until it is,
    /// so nothing goes out in an epoch (a vote, a promotion) that a crash could make this node forget.
    /// Forwarded writes and their answers do not wait: they claim nothing about epochs.
    var savingEpoch: UInt64?
    var outbox: [SyncMessage] = []
    /// A FULLSYNC stream asked for while an epoch was being saved: it goes behind the outbox.
    var streamAfterEpochSaved = false
    /// Disk work and messages made in this turn of the loop, handed over at its end (``handOver()``).
    var pendingWork: [StorageWork<Machine>] = []
    var pendingMessages: [SyncMessage] = []
    var handOverScheduled = false
    /// Rebuilds of the state asked of the storage and not reported yet: nothing is applied until the last
    /// is, and a snapshot asked for meanwhile waits (``snapshotAfterRebuild``).
    var pendingRebuilds = 0
    var snapshotAfterRebuild = false

    /// The most inputs held while a snapshot is installed, and the most bytes of another stream among them;
    /// past either the sync connection is dropped (the primary sends little while a FULLSYNC is under way:
    /// its catch-up waits for acks).
    static var maxHeld: Int { 100_000 }
    static var maxHeldBytes: Int { 64 << 20 }

    /// A driver for the state `recovered` from `storage`, in the highest `epoch` seen.
    public init(
        storage: any ReplicaStorage<Machine>, recovered: Recovery<Machine>, epoch: UInt64,
        configuration: ReplicaCore.Configuration, applied: AppliedState<Machine>, observer: ReplicaObserver = .none,
        eventLoop: any EventLoop, logger: Logger
    ) {
        self.eventLoop = eventLoop
        self.storage = storage
        self.applied = applied
        self.observer = observer
        self.logger = logger
        applied.replace(recovered.machine, seq: recovered.lastSeq)
        self.core = ReplicaCore(
            configuration: configuration, history: recovered.history, last: recovered.last, epoch: epoch)
        self.publish()
    }

    // MARK: Inputs

    /// A client's op, encoded as `payload`: logged, replicated and applied on the primary, forwarded by the
    /// backup, refused elsewhere.
    public func propose(_ op: Machine.Op, payload: ByteBuffer, completion: Completion) {
        if let refusal = self.refusal { return Self.complete([(completion, .failure(refusal))]) }
        guard let (records, ready) = self.core.propose([payload]) else {
            if self.core.role == .backup, let link = self.link {
                self.lastForwardID += 1
                self.forwards[self.lastForwardID] = completion
                link.forward(.request(id: self.lastForwardID, op: payload))
                return
            }
            let reason = self.core.role == .backup ? nil : self.core.standbyReason
            return Self.complete([(completion, .failure(.notPrimary(role: self.core.role, reason: reason)))])
        }
        self.proposers[records[0].seq] = (op, completion)
        self.carryOut(ready)
    }

    /// One tick of the replica's clock; `stalled` says the process did not run for a while.
    public func tick(stalled: Bool) {
        if self.halted || self.installing { return }
        let peerGone = self.peerRefused && self.link == nil
        self.peerRefused = false
        self.carryOut(self.core.tick(stalled: stalled, peerGone: peerGone))
    }

    /// A message from the other tracker.
    public func receive(_ message: SyncMessage) {
        if self.halted || self.hold(.message(message)) { return }
        self.carryOut(self.core.receive(message, log: self.reader))
        guard case .snapshotFollows(let epoch, let position) = message else { return }
        // A stream this node would refuse at its end (it already holds that far: a repeated catch-up) is not
        // written or decoded at all; its frames are dropped as they come.
        self.receiving = self.core.acceptsSnapshot(from: epoch, at: position)
        guard self.receiving else { return }
        self.receivingAt = position
        self.submit([.beginReceiving(epoch: epoch)])
        self.logger.notice("receiving a snapshot from the primary (FULLSYNC)", metadata: ["at": "\(position)"])
    }

    /// The other tracker's sync port refused a connection while there is none between them: its process is
    /// not running. The core hears of it with the next tick (``ReplicaCore/tick(stalled:peerGone:)``).
    public func peerRefusedConnection() {
        if self.link == nil { self.peerRefused = true }
    }

    /// An operator forces this tracker to be primary: whatever the other acknowledged and this one lacks is lost.
    public func forcePromote() {
        if self.halted { return }
        self.carryOut(self.core.forcePromote())
    }

    /// An operator hands the primary role to the in-sync backup (a switchover): proposals are refused (clients
    /// retry) until the backup has taken over, or the hand-over ends without it.
    public func switchover() throws(ReplicaError) {
        if self.halted { throw .switchoverRefused("this tracker has stopped replicating") }
        switch self.core.beginSwitchover() {
        case .success(let ready):
            self.logger.notice("handing the primary role over to the other tracker")
            self.carryOut(ready)
        case .failure(.notPrimary(let role)):
            throw .switchoverRefused("this tracker is \(role), not the primary; ask the primary")
        case .failure(.backupNotInSync):
            throw .switchoverRefused(
                "the backup is not in sync, so it may lack acknowledged writes; wait until tandemctl status shows it "
                    + "in_sync")
        case .failure(.underWay):
            throw .switchoverRefused("a switchover is under way already")
        }
    }

    /// The replica is closing: no more proposals are taken.
    public func stopTakingWrites() {
        self.handOver()
        self.refusal = self.refusal ?? .closed
    }

    /// The storage is closed (or stopped with `error`): every proposal not answered yet is refused with it,
    /// forwarded ones answered as they stand.
    public func finishClosing(with error: ReplicaError = .closed) {
        var outcomes = self.abandonProposers(after: 0, with: error)
        outcomes += self.forwards.sorted { $0.key < $1.key }.map { ($0.value, .failure(error)) }
        outcomes += self.answered.map { ($0.completion, .success($0.output)) }
        self.forwards = [:]
        self.answered = []
        Self.complete(outcomes)
    }

    /// Carries out `ready`, publishes what changed, and answers proposers.
    func carryOut(_ ready: ReplicaReady) {
        let outcomes = self.execute(ready)
        self.publish()
        Self.complete(outcomes)
    }

    /// What this tracker is in the pair now.
    var status: ReplicaStatus {
        var status = ReplicaStatus(
            role: self.core.role, epoch: self.core.epoch, last: self.core.last, durableSeq: self.core.durableSeq,
            commitSeq: self.core.commitSeq, appliedSeq: self.core.appliedSeq, peerConnected: self.link != nil,
            backupMatch: self.core.backupMatch, backupInSync: self.core.backupInSync,
            backupLagBytes: self.core.backupMatch.flatMap { self.lag.bytes(after: $0, last: self.core.last.seq) },
            standbyReason: self.core.standbyReason, roleSince: self.roleSince)
        status.countedInSync = self.core.role == .backup && self.core.countedInSync
        status.handingOver = self.core.isHandingOver
        status.lastHandOverFailure = self.core.lastHandOverFailure
        return status
    }

    /// Publishes the status to readers on other threads.
    func publish() {
        self.applied.publish(self.status)
    }
}
