import Foundation
import Logging
import NIOCore
import ReplicaCore

/// A state machine kept by one tracker of the pair: every op is in the write-ahead log, fsynced, before it is
/// applied and answered, and the pair's ``ReplicaCore`` decides what is logged, replicated and applied.
///
/// The handle the rest of `tandemd` holds, callable from any thread. Every input goes to the
/// ``ReplicaDriver`` on its event loop (at once when the caller is on it); the driver carries out the core's
/// decisions and the ``DiskStorage`` does the disk work on its own thread, reporting back to the driver. Reads
/// see the applied state (``AppliedState``) under its lock.
public final class ReplicatedStateMachine<Machine: StateMachine>: Sendable {
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

    /// The loop the driver runs on.
    public let eventLoop: any EventLoop
    private let storage: DiskStorage<Machine>
    private let applied: AppliedState<Machine>
    private let driver: NIOLoopBoundBox<ReplicaDriver<Machine>>

    /// Opens `directory` (creating it if needed), recovers the state, and starts the storage's writer; the
    /// driver runs on `eventLoop`. The tracker starts out waiting: ``forcePromote()`` or an agreement with the
    /// other tracker makes it primary.
    ///
    /// - Parameters:
    ///   - initial: the state of an empty log.
    ///   - observer: hears the WAL's batches, promotions and FULLSYNCs, for metrics.
    public init(
        directory: DataDirectory, initial: Machine, configuration: Configuration = .init(),
        observer: ReplicaObserver = .none, eventLoop: any EventLoop, logger: Logger
    ) throws(ReplicaError) {
        let storage = try DiskStorage(
            directory: directory, initial: initial,
            configuration: .init(
                snapshotEveryOps: configuration.snapshotEveryOps, snapshotEveryBytes: configuration.snapshotEveryBytes),
            observer: observer, logger: logger)
        let applied = AppliedState(initial)
        self.eventLoop = eventLoop
        self.storage = storage
        self.applied = applied
        self.driver = .makeBoxSendingValue(
            ReplicaDriver(
                storage: storage, recovered: storage.recovered, epoch: storage.savedEpoch,
                configuration: configuration.replica, applied: applied, observer: observer, eventLoop: eventLoop,
                logger: logger),
            eventLoop: eventLoop)
        let recovered = storage.recovered
        logger.info(
            "recovered state from disk",
            metadata: [
                "replica.position": "\(recovered.last)", "replica.snapshot_seq": "\(recovered.snapshotSeq)",
                "replica.epoch": "\(max(storage.savedEpoch, recovered.last.epoch))",
            ])
        let driver = self.driver
        storage.start { event in eventLoop.execute { driver.value.handle(event) } }
    }

    /// The seq of the last op applied.
    public var lastSeq: UInt64 { self.applied.lastSeq }

    /// How many batches have been written, each with one `write` and one `fdatasync`: fewer than the ops when
    /// concurrent proposals share them.
    public var committedBatches: Int { self.storage.committedBatches }

    /// Runs `body` on the current applied state, under its lock: keep it short.
    public func read<Result>(_ body: (Machine) throws -> Result) rethrows -> Result {
        try self.applied.read(body)
    }

    /// What this tracker is in the pair, as of the driver's last input.
    public var status: ReplicaStatus { self.applied.status }

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

    /// Like ``propose(_:)``, calling `completion` with the outcome on the driver's event loop; it must be quick.
    public func propose(
        _ op: Machine.Op, completion: @escaping @Sendable (Result<Machine.Output, ReplicaError>) -> Void
    ) {
        self.propose(op, on: self.eventLoop).whenComplete { result in
            completion(result.mapError { $0 as? ReplicaError ?? .closed })
        }
    }

    /// Like ``propose(_:)``; the future completes on `loop`, failing with a ``ReplicaError``. The driver
    /// completes a batch's futures at once on its own loop, and with one task on each other loop, so a batch of
    /// many connections' writes costs each event loop one wake-up.
    public func propose(_ op: Machine.Op, on loop: any EventLoop) -> EventLoopFuture<Machine.Output> {
        let promise = loop.makePromise(of: Machine.Output.self)
        var payload = ByteBufferAllocator().buffer(capacity: 128)
        Machine.encode(op, into: &payload)
        self.onDriver { [payload] in $0.propose(op, payload: payload, completion: .promise(promise)) }
        return promise.futureResult
    }

    // MARK: Inputs from the shell

    /// One tick of the replica's clock; `stalled` says the process did not run for a while.
    public func tick(stalled: Bool) {
        self.onDriver { $0.tick(stalled: stalled) }
    }

    /// A sync connection to the other tracker is up (authenticated): messages go out on it from now on.
    public func connected(_ link: any SyncLink) {
        self.onDriver { $0.connected(link) }
    }

    /// The sync connection `link` closed. Forwarded writes not answered yet are answered "retry": the primary
    /// may or may not have logged them.
    public func disconnected(_ link: any SyncLink) {
        self.onDriver { $0.disconnected(link) }
    }

    /// A message from the other tracker.
    public func receive(_ message: SyncMessage) {
        self.onDriver { $0.receive(message) }
    }

    /// A write forwarded by the backup, or the primary's answer to one of ours.
    public func receiveForwarded(_ frame: ForwardFrame) {
        self.onDriver { $0.receiveForwarded(frame) }
    }

    /// The next bytes of the snapshot the primary streams (FULLSYNC).
    public func receiveSnapshotBytes(_ bytes: ByteBuffer) {
        self.onDriver { $0.receiveSnapshotBytes(bytes) }
    }

    /// The snapshot stream ended; what follows waits until it is installed (or refused).
    public func receiveSnapshotEnd() {
        self.onDriver { $0.receiveSnapshotEnd() }
    }

    /// The other tracker's sync port refused a connection while there is none between them: its process is
    /// not running. The core hears of it with the next tick.
    public func peerRefusedConnection() {
        self.onDriver { $0.peerRefusedConnection() }
    }

    /// An operator forces this tracker to be primary: whatever the other acknowledged and this one lacks is lost.
    public func forcePromote() {
        self.onDriver { $0.forcePromote() }
    }

    /// An operator hands the primary role to the in-sync backup (`tandemctl switchover`); the future fails with
    /// ``ReplicaError/switchoverRefused(_:)`` when it cannot begin, and succeeds once it has begun.
    public func switchover() -> EventLoopFuture<Void> {
        let driver = self.driver
        return self.eventLoop.submit { try driver.value.switchover() }
    }

    // MARK: Closing

    /// Stops taking proposals, lets the storage finish its queued work, waits for a running snapshot, and
    /// refuses every proposal not yet answered. Call it off the driver's event loop; calling it again waits the
    /// same way and does nothing more.
    public func close() {
        self.eventLoop.preconditionNotInEventLoop()
        let driver = self.driver
        try? self.eventLoop.submit { driver.value.stopTakingWrites() }.wait()
        self.storage.close()
        try? self.eventLoop.submit { driver.value.finishClosing() }.wait()
    }

    /// Runs `body` on the driver: now when the caller is on its event loop, else as soon as the loop takes it.
    private func onDriver(_ body: @escaping @Sendable (ReplicaDriver<Machine>) -> Void) {
        if self.eventLoop.inEventLoop {
            body(self.driver.value)
        } else {
            let driver = self.driver
            self.eventLoop.execute { body(driver.value) }
        }
    }
}
