import ReplicaCore
import Foundation
import Logging
import NIOCore

/// A state machine kept by one tracker of the pair: every op is in the write-ahead log, fsynced, before it is
/// applied and answered, and the pair's ``ReplicaCore`` decides what is logged, replicated and applied.
///
/// The I/O shell around the core. Proposals, messages from the other tracker, ticks and the writer's reports
/// are fed to the core under one lock (the driver), and what the core decides is carried out in the order of
/// its ``ReplicaReady``: disk work is queued for the writer thread, messages are queued on the ``SyncLink``,
/// entries are applied and their proposers answered. The writer thread takes all queued work at once and does
/// it with one `write` and one `fdatasync` (group commit), then reports the records durable. Every
/// `snapshotEveryOps` ops or `snapshotEveryBytes` bytes the writer starts a new segment and a background thread
/// writes a snapshot of the applied state, after which the segments it covers are deleted.
///
/// Locking: the driver lock guards the core and what follows its decisions; the state lock guards the machine
/// (taken inside the driver lock, never the other way round); the queue guards the writer's work. The writer
/// thread alone owns the log file. A failed write on a full disk is cut back and its proposers told; any other
/// failed write or `fdatasync` leaves the file's state unknown, so the store stops taking writes.
public final class ReplicatedStateMachine<Machine: StateMachine>: @unchecked Sendable {
    /// When to write snapshots, and how the pair replicates.
    public struct Configuration: Sendable {
        /// Start a snapshot after this many ops since the last one.
        public var snapshotEveryOps: Int
        /// Start a snapshot after this many WAL bytes since the last one.
        public var snapshotEveryBytes: Int
        /// This tracker's place in the pair and its clock.
        public var replica: ReplicaCore.Configuration

        /// The defaults are those of `storage:` and `replication:` in cluster.yaml, for the first tracker.
        public init(
            snapshotEveryOps: Int = 100_000, snapshotEveryBytes: Int = 64 << 20,
            replica: ReplicaCore.Configuration = .init(index: 0)
        ) {
            self.snapshotEveryOps = snapshotEveryOps
            self.snapshotEveryBytes = snapshotEveryBytes
            self.replica = replica
        }
    }

    /// Who is told a proposal's outcome: a callback, a promise on its event loop, or the backup that forwarded
    /// it (the op is entry `seq`).
    enum Completion {
        case callback(@Sendable (Result<Machine.Output, ReplicaError>) -> Void)
        case promise(EventLoopPromise<Machine.Output>)
        case forwarded(id: UInt64, seq: UInt64, link: any SyncLink)
    }

    typealias Outcome = (Completion, Result<Machine.Output, ReplicaError>)

    /// Work for the writer thread, done in order.
    enum DiskWork {
        case saveEpoch(UInt64)
        case cut(after: UInt64, dropSnapshots: Bool)
        case append([LogRecord])
        case rebuild
        case install(SnapshotFile, Machine, from: String, done: DispatchSemaphore)
    }

    /// A FULLSYNC snapshot arriving from the primary, written to a temporary file as it comes.
    struct IncomingSnapshot {
        var fd: Int32
        var path: String
        var epoch: UInt64
        var failed = false
        var bytes = 0
        let started = ContinuousClock.now
    }

    let directory: DataDirectory
    let configuration: Configuration
    let initial: Machine
    let logger: Logger
    let lockFD: Int32

    // The driver.
    let driver = NSLock()
    var core: ReplicaCore
    var proposers: [UInt64: (op: Machine.Op, completion: Completion)] = [:]
    /// Records handed to the writer and not applied yet, in seq order.
    var unapplied: [LogRecord] = []
    var link: (any SyncLink)?
    /// The other tracker's sync port refused a connection since the last tick, with no link between them.
    var peerRefused = false
    /// Whether this primary was last logged as acknowledging writes without a backup in sync.
    var servingAlone = false
    /// Primary: the bytes of the records its backup does not hold yet (up to 2^20 records back).
    var lag = LagMeter(capacity: 1 << 20)
    let reader: DiskLogReader
    var incoming: IncomingSnapshot?
    var roleSince = Date()
    /// Backup: writes forwarded to the primary and not answered yet, by forward id.
    var forwards: [UInt64: Completion] = [:]
    var lastForwardID: UInt64 = 0
    /// Backup: forwarded writes the primary answered, waiting until this tracker has applied their entry.
    var answered: [(seq: UInt64, completion: Completion, output: Machine.Output)] = []

    // The writer's queue.
    let queue = NSCondition()
    var work: [DiskWork] = []
    var closing = false
    var failure: ReplicaError?
    var writerDone = false
    var snapshotRunning = false
    var filesClosed = false

    // The applied state.
    let stateLock = NSLock()
    var machine: Machine
    var appliedSeq: UInt64
    var batches = 0

    // Owned by the writer thread.
    var log: SegmentWriter
    var lastWritten: UInt64
    /// When ``DurableMark`` was last written.
    var lastMarked = ContinuousClock.now
    var opsSinceSnapshot = 0
    var bytesSinceSnapshot = 0

    /// Opens `directory` (creating it if needed), recovers the state, and starts the writer thread. The tracker
    /// starts out waiting: ``forcePromote()`` or an agreement with the other tracker makes it primary.
    ///
    /// - Parameter initial: the state of an empty log.
    public init(
        directory: DataDirectory, initial: Machine, configuration: Configuration = .init(), logger: Logger
    ) throws(ReplicaError) {
        try directory.create()
        let lockFD = try directory.lock()
        let recovery: Recovery<Machine>
        let log: SegmentWriter
        let savedEpoch: UInt64
        do throws(ReplicaError) {
            recovery = try Recovery.recover(from: directory, initial: initial, logger: logger)
            savedEpoch = try EpochFile.read(from: directory)
            log = try SegmentWriter(directory: directory, firstSeq: recovery.openSegment ?? recovery.lastSeq + 1)
        } catch {
            // The lock lives as long as its descriptor: a failed start must not keep the directory locked.
            Foundation.close(lockFD)
            throw error
        }
        self.lockFD = lockFD
        self.directory = directory
        self.configuration = configuration
        self.initial = initial
        self.logger = logger
        self.machine = recovery.machine
        self.appliedSeq = recovery.lastSeq
        self.lastWritten = recovery.lastSeq
        self.log = log
        self.opsSinceSnapshot = Int(recovery.lastSeq - recovery.snapshotSeq)
        self.reader = DiskLogReader(directory: directory, firstSeq: recovery.snapshotSeq + 1)
        self.core = ReplicaCore(
            configuration: configuration.replica, history: recovery.history, last: recovery.last, epoch: savedEpoch)
        logger.info(
            "recovered state from disk",
            metadata: [
                "replica.position": "\(recovery.last)", "replica.snapshot_seq": "\(recovery.snapshotSeq)",
                "replica.epoch": "\(self.core.epoch)",
            ])
        let thread = Thread { [self] in self.runWriter() }
        thread.name = "tandem-wal"
        thread.start()
    }

    /// The seq of the last op applied.
    public var lastSeq: UInt64 { self.stateLock.withLock { self.appliedSeq } }

    /// How many batches have been written, each with one `write` and one `fdatasync`: fewer than the ops when
    /// concurrent proposals share them.
    public var committedBatches: Int { self.stateLock.withLock { self.batches } }

    /// Runs `body` on the current applied state.
    public func read<Result>(_ body: (Machine) throws -> Result) rethrows -> Result {
        self.stateLock.lock()
        defer { self.stateLock.unlock() }
        return try body(self.machine)
    }

    /// What this tracker is in the pair now.
    public var status: ReplicaStatus {
        self.driver.withLock {
            ReplicaStatus(
                role: self.core.role, epoch: self.core.epoch, last: self.core.last, durableSeq: self.core.durableSeq,
                commitSeq: self.core.commitSeq, appliedSeq: self.core.appliedSeq, peerConnected: self.link != nil,
                backupMatch: self.core.backupMatch, backupInSync: self.core.backupInSync,
                backupLagBytes: self.core.backupMatch.flatMap { self.lag.bytes(after: $0, last: self.core.last.seq) },
                standbyReason: self.core.standbyReason, roleSince: self.roleSince)
        }
    }

    // MARK: Proposals

    /// Logs `op` durably, replicates it, applies it, and returns what applying it answered.
    ///
    /// - Throws: ``ReplicaError`` when the op was not applied here: the log could not be written, the store is
    ///   closed, or this tracker is not (or stopped being) the primary.
    public func propose(_ op: Machine.Op) async throws(ReplicaError) -> Machine.Output {
        let result = await withCheckedContinuation { continuation in
            self.propose(op) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Like ``propose(_:)``, calling `completion` with the outcome; it may run on the WAL writer thread or
    /// the caller's, and must be quick.
    public func propose(
        _ op: Machine.Op, completion: @escaping @Sendable (Result<Machine.Output, ReplicaError>) -> Void
    ) {
        self.enqueue(op, .callback(completion))
    }

    /// Like ``propose(_:)``; the future completes on `loop`. The driver completes all of a batch's futures on
    /// one loop with one task, so a batch of many connections' writes costs each event loop one wake-up.
    public func propose(_ op: Machine.Op, on loop: any EventLoop) -> EventLoopFuture<Machine.Output> {
        let promise = loop.makePromise(of: Machine.Output.self)
        self.enqueue(op, .promise(promise))
        return promise.futureResult
    }

    func enqueue(_ op: Machine.Op, _ completion: Completion) {
        var payload = ByteBufferAllocator().buffer(capacity: 128)
        Machine.encode(op, into: &payload)
        var refusal: ReplicaError?
        let outcomes = self.driver.withLock { () -> [Outcome] in
            if let failure = self.queue.withLock({ self.failure ?? (self.closing ? .closed : nil) }) {
                refusal = failure
                return []
            }
            guard let (records, ready) = self.core.propose([payload]) else {
                if self.core.role == .backup, let link = self.link {
                    self.lastForwardID += 1
                    self.forwards[self.lastForwardID] = completion
                    link.forward(.request(id: self.lastForwardID, op: payload))
                    return []
                }
                let reason = self.core.role == .backup ? nil : self.core.standbyReason
                refusal = .notPrimary(role: self.core.role, reason: reason)
                return []
            }
            self.proposers[records[0].seq] = (op, completion)
            return self.execute(ready)
        }
        if let refusal { Self.complete([(completion, .failure(refusal))]) }
        Self.complete(outcomes)
    }

    // MARK: Inputs from the shell

    /// One tick of the replica's clock; `stalled` says the process did not run for a while.
    public func tick(stalled: Bool) {
        self.drive { core, _ in
            let peerGone = self.peerRefused && self.link == nil
            self.peerRefused = false
            return core.tick(stalled: stalled, peerGone: peerGone)
        }
    }

    /// A sync connection to the other tracker is up (authenticated): messages go out on it from now on.
    public func connected(_ link: any SyncLink) {
        self.driver.withLock {
            self.link = link
            link.send([self.core.helloForNewConnection()])
        }
        self.logger.info("connected to the other tracker")
    }

    /// The sync connection `link` closed. Forwarded writes not answered yet are answered "retry": the primary
    /// may or may not have logged them.
    public func disconnected(_ link: any SyncLink) {
        var current = false
        let outcomes = self.driver.withLock { () -> [Outcome] in
            guard self.link === link else { return [] }
            self.link = nil
            current = true
            var outcomes: [Outcome] = self.forwards.values.map { ($0, .failure(.steppedDown)) }
            outcomes += self.answered.map { ($0.completion, .success($0.output)) }
            self.forwards = [:]
            self.answered = []
            return outcomes
        }
        Self.complete(outcomes)
        if current { self.logger.info("lost the connection to the other tracker") }
    }

    /// A message from the other tracker.
    public func receive(_ message: SyncMessage) {
        self.drive { core, reader in core.receive(message, log: reader) }
        guard case .snapshotFollows(let epoch, let position) = message else { return }
        self.driver.withLock {
            self.discardIncoming()
            // A stream this node would refuse at its end (it already holds that far: a repeated catch-up) is not
            // written or decoded at all; its frames are dropped as they come.
            guard self.core.acceptsSnapshot(from: epoch, at: position) else { return }
            let path = self.directory.path + "/snapshot-incoming.tmp"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                self.logger.error("cannot take the primary's snapshot", metadata: ["errno": "\(errno)"])
                return
            }
            self.incoming = IncomingSnapshot(fd: fd, path: path, epoch: epoch)
            self.logger.notice("receiving a snapshot from the primary (FULLSYNC)", metadata: ["at": "\(position)"])
        }
    }

    /// The other tracker's sync port refused a connection while there is none between them: its process is
    /// not running. The core hears of it with the next tick (``ReplicaCore/tick(stalled:peerGone:)``).
    public func peerRefusedConnection() {
        self.driver.withLock { if self.link == nil { self.peerRefused = true } }
    }

    /// An operator forces this tracker to be primary: whatever the other acknowledged and this one lacks is lost.
    public func forcePromote() {
        self.drive { core, _ in core.forcePromote() }
    }

    /// Feeds the core one input under the driver lock, carries out its decisions, and answers proposers.
    func drive(_ input: (inout ReplicaCore, DiskLogReader) -> ReplicaReady) {
        let outcomes = self.driver.withLock { self.execute(input(&self.core, self.reader)) }
        Self.complete(outcomes)
    }

    // MARK: Closing

    /// Stops the writer once its queued work is done, waits for a running snapshot, and refuses every proposal
    /// not yet answered and every later one.
    ///
    /// Calling it again, from any thread, waits the same way and does nothing more.
    public func close() {
        self.queue.lock()
        self.closing = true
        self.queue.broadcast()
        while !self.writerDone || self.snapshotRunning { self.queue.wait() }
        let filesClosed = self.filesClosed
        self.filesClosed = true
        self.queue.unlock()
        let outcomes = self.driver.withLock {
            self.discardIncoming()
            var outcomes = self.abandonProposers(after: 0, with: .closed)
            outcomes += self.forwards.values.map { ($0, .failure(.closed)) }
            outcomes += self.answered.map { ($0.completion, .success($0.output)) }
            self.forwards = [:]
            self.answered = []
            return outcomes
        }
        Self.complete(outcomes)
        // A second close must not close the descriptors again: their numbers may belong to other files by now.
        if filesClosed { return }
        self.log.close()
        Foundation.close(self.lockFD)
    }

}
