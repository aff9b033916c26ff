import Foundation
import Logging
import NIOCore
import ReplicaCore

/// Carries out what the pair's ``ReplicaCore`` decides: it owns the core and runs on one serial executor (an
/// event loop), where every input arrives (proposals, the other tracker's messages, ticks, the storage's
/// reports) and each ``ReplicaReady`` is carried out in its documented order: disk work is submitted to the
/// ``ReplicaStorage``, messages are queued on the ``SyncLink``, entries are applied and their proposers answered.
///
/// The storage reports back as events on the same executor (raft's `Advance`), never by calling in from its own
/// thread. Nothing here locks, except to publish the applied state and the status for readers on other threads
/// (``AppliedState``). Not thread-safe: call it on its event loop only.
public final class ReplicaDriver<Machine: StateMachine> {
    /// Who is told a proposal's outcome: a callback, a promise on its event loop, or the backup that forwarded
    /// it (the op is entry `seq`).
    public enum Completion: Sendable {
        case callback(@Sendable (Result<Machine.Output, ReplicaError>) -> Void)
        case promise(EventLoopPromise<Machine.Output>)
        case forwarded(id: UInt64, seq: UInt64, link: any SyncLink)
    }

    typealias Outcome = (Completion, Result<Machine.Output, ReplicaError>)

    /// An input held back while a received snapshot is being installed: it belongs to the log that follows.
    enum Held {
        case message(SyncMessage)
        case forwarded(ForwardFrame)
    }

    /// Where every call is made.
    public let eventLoop: any EventLoop
    let storage: any ReplicaStorage<Machine>
    let applied: AppliedState<Machine>
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
    /// A snapshot stream from the primary is being written by the storage.
    var receiving = false
    /// A received snapshot is being checked or installed: inputs wait in ``held`` until it is done.
    var installing = false
    var held: [Held] = []
    /// An epoch submitted to the storage and not yet reported saved: messages wait in ``outbox`` until it is,
    /// so nothing goes out in an epoch (a vote, a promotion) that a crash could make this node forget.
    var savingEpoch: UInt64?
    var outbox: [SyncMessage] = []
    /// A FULLSYNC stream waits for the epoch being saved too, behind the outbox.
    var snapshotWaiting = false
    /// Entries already applied were cut and the storage is rebuilding the state: nothing is applied until it
    /// reports, and a snapshot asked for meanwhile waits (``snapshotWanted``).
    var rebuilding = false
    var snapshotWanted = false

    /// The most inputs held while a snapshot is installed; past it the sync connection is dropped (the primary
    /// sends little while a FULLSYNC is under way: its catch-up waits for acks).
    static var maxHeld: Int { 100_000 }

    /// A driver for the state `recovered` from `storage`, in the highest `epoch` seen.
    public init(
        storage: any ReplicaStorage<Machine>, recovered: Recovery<Machine>, epoch: UInt64,
        configuration: ReplicaCore.Configuration, applied: AppliedState<Machine>, eventLoop: any EventLoop,
        logger: Logger
    ) {
        self.eventLoop = eventLoop
        self.storage = storage
        self.applied = applied
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
        let peerGone = self.peerRefused && self.link == nil
        self.peerRefused = false
        self.carryOut(self.core.tick(stalled: stalled, peerGone: peerGone))
    }

    /// A sync connection to the other tracker is up (authenticated): messages go out on it from now on.
    public func connected(_ link: any SyncLink) {
        self.link = link
        self.outbox = []
        self.snapshotWaiting = false
        self.send([self.core.helloForNewConnection()])
        self.publish()
        self.logger.info("connected to the other tracker")
    }

    /// The sync connection `link` closed. Forwarded writes not answered yet are answered "retry": the primary
    /// may or may not have logged them. What it brought and was held, and a snapshot it was streaming, are
    /// thrown away: the next connection starts over.
    public func disconnected(_ link: any SyncLink) {
        guard self.link === link else { return }
        self.link = nil
        self.outbox = []
        self.snapshotWaiting = false
        self.held = []
        if self.receiving {
            self.receiving = false
            self.storage.submit([.abandonReceiving])
        }
        var outcomes: [Outcome] = self.forwards.sorted { $0.key < $1.key }.map { ($0.value, .failure(.steppedDown)) }
        outcomes += self.answered.map { ($0.completion, .success($0.output)) }
        self.forwards = [:]
        self.answered = []
        self.publish()
        Self.complete(outcomes)
        self.logger.info("lost the connection to the other tracker")
    }

    /// A message from the other tracker.
    public func receive(_ message: SyncMessage) {
        if self.hold(.message(message)) { return }
        self.carryOut(self.core.receive(message, log: self.reader))
        guard case .snapshotFollows(let epoch, let position) = message else { return }
        // A stream this node would refuse at its end (it already holds that far: a repeated catch-up) is not
        // written or decoded at all; its frames are dropped as they come.
        self.receiving = self.core.acceptsSnapshot(from: epoch, at: position)
        guard self.receiving else { return }
        self.storage.submit([.beginReceiving(epoch: epoch)])
        self.logger.notice("receiving a snapshot from the primary (FULLSYNC)", metadata: ["at": "\(position)"])
    }

    /// The other tracker's sync port refused a connection while there is none between them: its process is
    /// not running. The core hears of it with the next tick (``ReplicaCore/tick(stalled:peerGone:)``).
    public func peerRefusedConnection() {
        if self.link == nil { self.peerRefused = true }
    }

    /// An operator forces this tracker to be primary: whatever the other acknowledged and this one lacks is lost.
    public func forcePromote() {
        self.carryOut(self.core.forcePromote())
    }

    /// The replica is closing: no more proposals are taken.
    public func stopTakingWrites() {
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

    /// Sends `messages` to the other tracker, after an epoch being saved if there is one.
    func send(_ messages: [SyncMessage]) {
        guard let link = self.link, !messages.isEmpty else { return }
        if self.savingEpoch != nil { return self.outbox += messages }
        link.send(messages)
    }

    /// The storage made `epoch` durable: what waited for it goes out, but a vote given in an epoch this node
    /// has left since (it waited past the failover timeout and promoted itself) is dropped: the vote promised
    /// not to take over, and it has.
    func epochSaved(_ epoch: UInt64) {
        guard let saving = self.savingEpoch, epoch >= saving else { return }
        self.savingEpoch = nil
        let messages = self.outbox.filter { message in
            guard case .vote(_, let voter) = message else { return true }
            return voter.epoch >= self.core.epoch
        }
        self.outbox = []
        self.send(messages)
        if self.snapshotWaiting {
            self.snapshotWaiting = false
            self.streamSnapshot()
        }
    }

    /// Carries out `ready`, publishes what changed, and answers proposers.
    func carryOut(_ ready: ReplicaReady) {
        let outcomes = self.execute(ready)
        self.publish()
        Self.complete(outcomes)
    }

    /// What this tracker is in the pair now.
    var status: ReplicaStatus {
        ReplicaStatus(
            role: self.core.role, epoch: self.core.epoch, last: self.core.last, durableSeq: self.core.durableSeq,
            commitSeq: self.core.commitSeq, appliedSeq: self.core.appliedSeq, peerConnected: self.link != nil,
            backupMatch: self.core.backupMatch, backupInSync: self.core.backupInSync,
            backupLagBytes: self.core.backupMatch.flatMap { self.lag.bytes(after: $0, last: self.core.last.seq) },
            standbyReason: self.core.standbyReason, roleSince: self.roleSince)
    }

    /// Publishes the status to readers on other threads.
    func publish() {
        self.applied.publish(self.status)
    }
}

/// The applied state and the replica's status, as readers on any thread see them. The driver applies ops to
/// the state in place, under the lock (a copy would copy the whole state at the next write), and publishes
/// the status after each input.
public final class AppliedState<Machine: StateMachine>: @unchecked Sendable {
    private let lock = NSLock()
    private var machine: Machine
    private var seq: UInt64 = 0
    private var latestStatus: ReplicaStatus?

    /// Holds `machine` until the driver starts.
    public init(_ machine: Machine) {
        self.machine = machine
    }

    /// Changes the state and the seq it is applied through, under the lock.
    func mutate<Result>(_ body: (inout Machine, inout UInt64) throws -> Result) rethrows -> Result {
        self.lock.lock()
        defer { self.lock.unlock() }
        return try body(&self.machine, &self.seq)
    }

    /// Replaces the state (recovered, rebuilt or installed from a snapshot).
    func replace(_ machine: Machine, seq: UInt64) {
        self.mutate { current, appliedSeq in
            current = machine
            appliedSeq = seq
        }
    }

    func publish(_ status: ReplicaStatus) {
        self.lock.withLock { self.latestStatus = status }
    }

    /// Runs `body` on the applied state, under the lock: keep it short.
    public func read<Result>(_ body: (Machine) throws -> Result) rethrows -> Result {
        self.lock.lock()
        defer { self.lock.unlock() }
        return try body(self.machine)
    }

    /// The seq of the last op applied.
    public var lastSeq: UInt64 { self.lock.withLock { self.seq } }

    /// The status as last published.
    public var status: ReplicaStatus { self.lock.withLock { self.latestStatus! } }
}
