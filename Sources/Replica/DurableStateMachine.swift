import Foundation
import Logging
import NIOCore

/// A state machine whose every op is in the write-ahead log, fsynced, before it is applied and answered.
///
/// Proposals from any number of tasks queue up; one writer thread takes all that are queued, gives them the
/// next seqs, writes them with one `write` and one `fdatasync` (group commit), applies them in seq order and
/// only then resumes the proposers. So a reply is never sent for an op that a crash could lose, and reads see
/// only durable state. Every `snapshotEveryOps` ops or `snapshotEveryBytes` bytes the writer starts a new
/// segment and a background thread writes a snapshot, after which the older segments are deleted.
///
/// Locking: `queue` guards the proposals; `stateLock` guards the machine; the writer thread alone owns the
/// log file. A failed write is cut back off the file and reported to the proposers of that batch; a failed
/// `fdatasync` leaves the file's state unknown, so the store stops taking writes (restart recovers from disk).
public final class DurableStateMachine<Machine: StateMachine>: @unchecked Sendable {
    /// When to write snapshots.
    public struct Configuration: Sendable {
        /// Start a snapshot after this many ops since the last one.
        public var snapshotEveryOps: Int
        /// Start a snapshot after this many WAL bytes since the last one.
        public var snapshotEveryBytes: Int

        /// When to snapshot; the defaults are those of `storage:` in cluster.yaml.
        public init(snapshotEveryOps: Int = 100_000, snapshotEveryBytes: Int = 64 << 20) {
            self.snapshotEveryOps = snapshotEveryOps
            self.snapshotEveryBytes = snapshotEveryBytes
        }
    }

    private struct Proposal {
        /// Who is told the outcome: a callback on the writer thread, or a promise on its event loop.
        enum Completion {
            case callback(@Sendable (Result<Machine.Output, ReplicaError>) -> Void)
            case promise(EventLoopPromise<Machine.Output>)
        }

        var payload: ByteBuffer
        var op: Machine.Op
        var completion: Completion
    }

    private let directory: DataDirectory
    private let configuration: Configuration
    private let logger: Logger
    private let lockFD: Int32

    private let queue = NSCondition()
    private var proposals: [Proposal] = []
    private var closing = false
    private var failure: ReplicaError?
    private var writerDone = false
    private var snapshotRunning = false
    private var filesClosed = false

    private let stateLock = NSLock()
    private var machine: Machine
    private var appliedSeq: UInt64
    private var batches = 0

    // Owned by the writer thread.
    private var log: SegmentWriter
    private var epoch: UInt64
    private var opsSinceSnapshot = 0
    private var bytesSinceSnapshot = 0

    /// Opens `directory` (creating it if needed), recovers the state, and starts the writer thread.
    ///
    /// - Parameter initial: the state of an empty log.
    public init(
        directory: DataDirectory, initial: Machine, configuration: Configuration = .init(), logger: Logger
    ) throws(ReplicaError) {
        try directory.create()
        let lockFD = try directory.lock()
        let recovery: Recovery<Machine>
        let log: SegmentWriter
        do throws(ReplicaError) {
            recovery = try Recovery.recover(from: directory, initial: initial, logger: logger)
            log = try SegmentWriter(directory: directory, firstSeq: recovery.openSegment ?? recovery.lastSeq + 1)
        } catch {
            // The lock lives as long as its descriptor: a failed start must not keep the directory locked.
            Foundation.close(lockFD)
            throw error
        }
        self.lockFD = lockFD
        self.directory = directory
        self.configuration = configuration
        self.logger = logger
        self.machine = recovery.machine
        self.appliedSeq = recovery.lastSeq
        self.epoch = recovery.epoch
        self.log = log
        self.opsSinceSnapshot = Int(recovery.lastSeq - recovery.snapshotSeq)
        logger.info(
            "recovered state from disk",
            metadata: ["replica.seq": "\(recovery.lastSeq)", "replica.snapshot_seq": "\(recovery.snapshotSeq)"])
        let thread = Thread { [self] in self.runWriter() }
        thread.name = "tandem-wal"
        thread.start()
    }

    /// The seq of the last op applied (and so durable).
    public var lastSeq: UInt64 { self.stateLock.withLock { self.appliedSeq } }

    /// How many batches have been committed, each with one `write` and one `fdatasync`: fewer than the ops when
    /// concurrent proposals share them.
    public var committedBatches: Int { self.stateLock.withLock { self.batches } }

    /// Runs `body` on the current durable state.
    public func read<Result>(_ body: (Machine) throws -> Result) rethrows -> Result {
        self.stateLock.lock()
        defer { self.stateLock.unlock() }
        return try body(self.machine)
    }

    /// Logs `op` durably, applies it, and returns what applying it answered.
    ///
    /// - Throws: ``ReplicaError`` when the log could not be written (the op was not applied) or the store is closed.
    public func propose(_ op: Machine.Op) async throws(ReplicaError) -> Machine.Output {
        let result = await withCheckedContinuation { continuation in
            self.propose(op) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Logs `op` durably, applies it, then calls `completion` on the writer thread with what applying it answered,
    /// or with the ``ReplicaError`` that kept it from the log (the op was then not applied).
    ///
    /// `completion` runs on the WAL writer thread: it must be quick.
    public func propose(
        _ op: Machine.Op, completion: @escaping @Sendable (Result<Machine.Output, ReplicaError>) -> Void
    ) {
        self.enqueue(op, .callback(completion))
    }

    /// Logs `op` durably and applies it; the future, on `loop`, succeeds with what applying it answered or fails
    /// with the ``ReplicaError`` that kept it from the log (the op was then not applied).
    ///
    /// The writer completes all of a batch's futures on one loop with one task, so a batch of many connections'
    /// writes costs each event loop one wake-up.
    public func propose(_ op: Machine.Op, on loop: any EventLoop) -> EventLoopFuture<Machine.Output> {
        let promise = loop.makePromise(of: Machine.Output.self)
        self.enqueue(op, .promise(promise))
        return promise.futureResult
    }

    private func enqueue(_ op: Machine.Op, _ completion: Proposal.Completion) {
        var payload = ByteBufferAllocator().buffer(capacity: 128)
        Machine.encode(op, into: &payload)
        let refusal = self.queue.withLock { () -> ReplicaError? in
            if let failure = self.failure ?? (self.closing ? .closed : nil) { return failure }
            self.proposals.append(Proposal(payload: payload, op: op, completion: completion))
            self.queue.signal()
            return nil
        }
        // Outside the lock: a completion may propose again.
        if let refusal { Self.complete([(completion, .failure(refusal))]) }
    }

    /// Tells each proposer its outcome: callbacks at once, promises grouped into one task per event loop.
    private static func complete(_ outcomes: [(Proposal.Completion, Result<Machine.Output, ReplicaError>)]) {
        var byLoop:
            [ObjectIdentifier: (
                loop: any EventLoop, items: [(EventLoopPromise<Machine.Output>, Result<Machine.Output, ReplicaError>)]
            )] = [:]
        for (completion, result) in outcomes {
            switch completion {
            case .callback(let callback):
                callback(result)
            case .promise(let promise):
                let loop = promise.futureResult.eventLoop
                byLoop[ObjectIdentifier(loop), default: (loop, [])].items.append((promise, result))
            }
        }
        for (loop, items) in byLoop.values {
            loop.execute {
                for (promise, result) in items { promise.completeWith(result.mapError { $0 }) }
            }
        }
    }

    /// Answers every queued proposal, stops the writer and waits for a running snapshot; later proposals fail.
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
        // A second close must not close the descriptors again: their numbers may belong to other files by now.
        if filesClosed { return }
        self.log.close()
        Foundation.close(self.lockFD)
    }

    private func runWriter() {
        while let batch = self.nextBatch() {
            self.commit(batch)
        }
        self.queue.lock()
        self.writerDone = true
        self.queue.broadcast()
        self.queue.unlock()
    }

    /// Waits for proposals; nil once closing with none left.
    private func nextBatch() -> [Proposal]? {
        self.queue.lock()
        defer { self.queue.unlock() }
        while self.proposals.isEmpty && !self.closing { self.queue.wait() }
        if self.proposals.isEmpty { return nil }
        defer { self.proposals.removeAll(keepingCapacity: true) }
        return self.proposals
    }

    private func commit(_ batch: [Proposal]) {
        // Once the store has failed, what the log holds past `appliedSeq` is unknown: the failed batch may be on
        // disk. A batch queued meanwhile would reuse its seqs, and recovery keeps the first record of each seq,
        // so this batch's ops would be answered and then lost on restart. Refuse it like any later proposal.
        if let failure = self.queue.withLock({ self.failure }) {
            Self.complete(batch.map { ($0.completion, .failure(failure)) })
            return
        }
        let firstSeq = self.stateLock.withLock { self.appliedSeq } + 1
        var bytes = ByteBufferAllocator().buffer(capacity: batch.reduce(0) { $0 + $1.payload.readableBytes + 24 })
        for (offset, proposal) in batch.enumerated() {
            bytes.writeLogRecord(
                LogRecord(epoch: self.epoch, seq: firstSeq + UInt64(offset), payload: proposal.payload))
        }
        do throws(ReplicaError) {
            try self.log.append(bytes)
        } catch {
            if !error.isDiskFull || self.log.isBroken { self.fail(error) }
            self.logger.error("WAL append failed", metadata: ["error": "\(error)"])
            Self.complete(batch.map { ($0.completion, .failure(error)) })
            return
        }
        self.opsSinceSnapshot += batch.count
        self.bytesSinceSnapshot += bytes.readableBytes
        let snapshotDue =
            self.opsSinceSnapshot >= self.configuration.snapshotEveryOps
            || self.bytesSinceSnapshot >= self.configuration.snapshotEveryBytes
        // The state is copied (a reference to the same storage until the next write) only when a snapshot is due.
        let (outputs, snapshot) = self.stateLock.withLock {
            let outputs = batch.map { self.machine.apply($0.op) }
            self.appliedSeq = firstSeq + UInt64(batch.count) - 1
            self.batches += 1
            return (outputs, snapshotDue ? (self.machine, self.appliedSeq) : nil)
        }
        Self.complete(zip(batch, outputs).map { ($0.completion, .success($1)) })
        if let (machine, seq) = snapshot {
            self.startSnapshot(of: machine, at: seq)
        }
    }

    /// Stops taking writes for good: the log file's state is unknown after a failed fsync.
    private func fail(_ error: ReplicaError) {
        self.queue.lock()
        self.failure = error
        self.queue.unlock()
    }

    private func startSnapshot(of machine: Machine, at seq: UInt64) {
        let busy = self.queue.withLock {
            defer { self.snapshotRunning = true }
            return self.snapshotRunning
        }
        if busy { return }
        do throws(ReplicaError) {
            try self.log.rotate(firstSeq: seq + 1)
        } catch {
            self.logger.error("could not start a new WAL segment", metadata: ["error": "\(error)"])
            self.queue.withLock { self.snapshotRunning = false }
            return
        }
        self.opsSinceSnapshot = 0
        self.bytesSinceSnapshot = 0
        let epoch = self.epoch
        let thread = Thread { [self] in
            self.writeSnapshot(of: machine, epoch: epoch, seq: seq)
            self.queue.withLock {
                self.snapshotRunning = false
                self.queue.broadcast()
            }
        }
        thread.name = "tandem-snapshot"
        thread.start()
    }

    /// Writes the snapshot, then deletes the segments and snapshots it makes redundant.
    private func writeSnapshot(of machine: Machine, epoch: UInt64, seq: UInt64) {
        var payload = ByteBufferAllocator().buffer(capacity: 1 << 16)
        machine.encodeSnapshot(into: &payload)
        let file = SnapshotFile(epoch: epoch, seq: seq, payload: payload)
        do throws(ReplicaError) {
            try PosixFile.writeAtomically(file.encoded(), to: self.directory.snapshotPath(seq: seq), in: self.directory)
            for old in try self.directory.segments() where old <= seq {
                unlink(self.directory.segmentPath(firstSeq: old))
            }
            for old in try self.directory.snapshots() where old < seq {
                unlink(self.directory.snapshotPath(seq: old))
            }
            try self.directory.sync()
            self.logger.info(
                "wrote snapshot", metadata: ["replica.seq": "\(seq)", "snapshot.bytes": "\(payload.readableBytes)"])
        } catch {
            self.logger.error("snapshot failed; the WAL is kept", metadata: ["error": "\(error)"])
        }
    }
}
