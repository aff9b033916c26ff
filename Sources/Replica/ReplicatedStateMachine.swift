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
    private enum Completion {
        case callback(@Sendable (Result<Machine.Output, ReplicaError>) -> Void)
        case promise(EventLoopPromise<Machine.Output>)
        case forwarded(id: UInt64, seq: UInt64, link: any SyncLink)
    }

    private typealias Outcome = (Completion, Result<Machine.Output, ReplicaError>)

    /// Work for the writer thread, done in order.
    private enum DiskWork {
        case saveEpoch(UInt64)
        case cut(after: UInt64, dropSnapshots: Bool)
        case append([LogRecord])
        case rebuild
        case install(SnapshotFile, Machine, from: String, done: DispatchSemaphore)
    }

    /// A FULLSYNC snapshot arriving from the primary, written to a temporary file as it comes.
    private struct IncomingSnapshot {
        var fd: Int32
        var path: String
        var epoch: UInt64
        var failed = false
        var bytes = 0
        let started = ContinuousClock.now
    }

    private let directory: DataDirectory
    private let configuration: Configuration
    private let initial: Machine
    private let logger: Logger
    private let lockFD: Int32

    // The driver.
    private let driver = NSLock()
    private var core: ReplicaCore
    private var proposers: [UInt64: (op: Machine.Op, completion: Completion)] = [:]
    /// Records handed to the writer and not applied yet, in seq order.
    private var unapplied: [LogRecord] = []
    private var link: (any SyncLink)?
    /// The other tracker's sync port refused a connection since the last tick, with no link between them.
    private var peerRefused = false
    /// Primary: the bytes of the records its backup does not hold yet (up to 2^20 records back).
    private var lag = LagMeter(capacity: 1 << 20)
    private let reader: DiskLogReader
    private var incoming: IncomingSnapshot?
    private var roleSince = Date()
    /// Backup: writes forwarded to the primary and not answered yet, by forward id.
    private var forwards: [UInt64: Completion] = [:]
    private var lastForwardID: UInt64 = 0
    /// Backup: forwarded writes the primary answered, waiting until this tracker has applied their entry.
    private var answered: [(seq: UInt64, completion: Completion, output: Machine.Output)] = []

    // The writer's queue.
    private let queue = NSCondition()
    private var work: [DiskWork] = []
    private var closing = false
    private var failure: ReplicaError?
    private var writerDone = false
    private var snapshotRunning = false
    private var filesClosed = false

    // The applied state.
    private let stateLock = NSLock()
    private var machine: Machine
    private var appliedSeq: UInt64
    private var batches = 0

    // Owned by the writer thread.
    private var log: SegmentWriter
    private var lastWritten: UInt64
    private var opsSinceSnapshot = 0
    private var bytesSinceSnapshot = 0

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

    private func enqueue(_ op: Machine.Op, _ completion: Completion) {
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

    /// A write forwarded by the backup (this tracker proposes it), or the primary's answer to one of ours.
    public func receiveForwarded(_ frame: ForwardFrame) {
        let outcomes = self.driver.withLock { () -> [Outcome] in
            switch frame {
            case .request(let id, let payload):
                guard let link = self.link else { return [] }
                var bytes = payload
                guard let op = try? Machine.decodeOp(from: &bytes) else {
                    link.forward(.refusal(id: id, reason: "the forwarded op does not decode"))
                    return []
                }
                guard let (records, ready) = self.core.propose([payload]) else {
                    let error = ReplicaError.notPrimary(role: self.core.role, reason: self.core.standbyReason)
                    link.forward(.refusal(id: id, reason: error.description))
                    return []
                }
                let seq = records[0].seq
                self.proposers[seq] = (op, .forwarded(id: id, seq: seq, link: link))
                return self.execute(ready)
            case .reply(let id, let seq, let output):
                guard let completion = self.forwards.removeValue(forKey: id) else { return [] }
                var bytes = output
                guard let output = try? Machine.decodeOutput(from: &bytes) else {
                    return [(completion, .failure(.refusedByPrimary("its answer does not decode")))]
                }
                self.answered.append((seq, completion, output))
                return self.releaseAnswered()
            case .refusal(let id, let reason):
                guard let completion = self.forwards.removeValue(forKey: id) else { return [] }
                return [(completion, .failure(.refusedByPrimary(reason)))]
            }
        }
        Self.complete(outcomes)
    }

    /// The forwarded writes whose entries this tracker has applied: their clients read them here from now on.
    private func releaseAnswered() -> [Outcome] {
        let applied = self.core.appliedSeq
        let released = self.answered.filter { $0.seq <= applied }
        self.answered.removeAll { $0.seq <= applied }
        return released.map { ($0.completion, .success($0.output)) }
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

    /// The next bytes of the snapshot the primary streams (FULLSYNC).
    public func receiveSnapshotBytes(_ bytes: ByteBuffer) {
        self.driver.withLock {
            guard var incoming = self.incoming, !incoming.failed else { return }
            do throws(ReplicaError) {
                try PosixFile.writeAll(incoming.fd, bytes, path: incoming.path)
                incoming.bytes += bytes.readableBytes
            } catch {
                self.logger.error("cannot write the primary's snapshot", metadata: ["error": "\(error)"])
                incoming.failed = true
            }
            self.incoming = incoming
        }
    }

    /// The snapshot stream ended: checks it and, if this tracker still follows its sender and lacks what it
    /// holds, replaces the state and the log with it. Returns once that is done (the caller reads no more
    /// messages meanwhile, so none is taken against the old log).
    public func receiveSnapshotEnd() {
        guard
            let incoming = self.driver.withLock({ () -> IncomingSnapshot? in
                defer { self.incoming = nil }
                return self.incoming
            })
        else { return }
        let synced = fsync(incoming.fd) == 0
        Foundation.close(incoming.fd)
        do {
            guard synced, !incoming.failed else { throw ReplicaError.io("fsync", path: incoming.path, errno: errno) }
            let received = ContinuousClock.now
            let file = try SnapshotFile.decode(try PosixFile.readAll(incoming.path), path: incoming.path)
            var payload = file.payload
            let machine = try Machine.decodeSnapshot(from: &payload)
            let decoded = ContinuousClock.now
            self.logger.notice(
                "received the primary's snapshot (FULLSYNC)",
                metadata: [
                    "bytes": "\(incoming.bytes)", "receive_ms": "\(Self.milliseconds(received - incoming.started))",
                    "decode_ms": "\(Self.milliseconds(decoded - received))",
                ])
            let position = LogPosition(epoch: file.epoch, seq: file.seq)
            let accepted = self.driver.withLock { self.core.acceptsSnapshot(from: incoming.epoch, at: position) }
            guard accepted else {
                unlink(incoming.path)
                return
            }
            let done = DispatchSemaphore(value: 0)
            self.queueWork([.install(file, machine, from: incoming.path, done: done)])
            done.wait()
        } catch {
            self.logger.error("refused the primary's snapshot", metadata: ["error": "\(error)"])
            unlink(incoming.path)
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
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
    private func drive(_ input: (inout ReplicaCore, DiskLogReader) -> ReplicaReady) {
        let outcomes = self.driver.withLock { self.execute(input(&self.core, self.reader)) }
        Self.complete(outcomes)
    }

    // MARK: Carrying out the core's decisions

    /// Carries out `ready` in its order; returns the proposers to answer once the driver lock is released.
    /// Called with the driver lock held.
    private func execute(_ ready: ReplicaReady) -> [Outcome] {
        var outcomes: [Outcome] = []
        var disk: [DiskWork] = []
        if let epoch = ready.persistEpoch { disk.append(.saveEpoch(epoch)) }
        if let seq = ready.truncateAfter {
            let dropSnapshots = seq + 1 < self.reader.firstSeq
            disk.append(.cut(after: seq, dropSnapshots: dropSnapshots))
            if dropSnapshots { self.reader.firstSeq = 1 }
            self.reader.reset()
            self.lag.reset()
            self.unapplied.removeAll { $0.seq > seq }
            outcomes += self.abandonProposers(after: seq, with: .steppedDown)
        }
        if ready.rebuildState { disk.append(.rebuild) }
        if !ready.persist.isEmpty {
            disk.append(.append(ready.persist))
            self.unapplied += ready.persist
            if self.core.role == .primary { self.lag.appended(ready.persist) }
        }
        if let match = self.core.backupMatch { self.lag.forget(through: match) }
        if !disk.isEmpty { self.queueWork(disk) }
        if !ready.messages.isEmpty { self.link?.send(ready.messages) }
        if let seq = ready.applyThrough {
            outcomes += self.apply(through: seq)
            outcomes += self.releaseAnswered()
        }
        if ready.sendSnapshot { self.streamSnapshot() }
        if let seq = ready.abandonAfter { outcomes += self.abandonProposers(after: seq, with: .steppedDown) }
        if let role = ready.newRole {
            self.roleSince = Date()
            self.lag.reset()
            self.logger.notice(
                "replica role changed",
                metadata: [
                    "replica.role": "\(role)", "replica.epoch": "\(self.core.epoch)",
                    "replica.position": "\(self.core.last)",
                ])
        }
        return outcomes
    }

    private func abandonProposers(after seq: UInt64, with error: ReplicaError) -> [Outcome] {
        let abandoned = self.proposers.keys.filter { $0 > seq }
        return abandoned.compactMap { self.proposers.removeValue(forKey: $0) }.map { ($0.completion, .failure(error)) }
    }

    /// Applies the unapplied entries up to `seq` to the machine.
    private func apply(through seq: UInt64) -> [Outcome] {
        let count = self.unapplied.prefix { $0.seq <= seq }.count
        guard count > 0 else { return [] }
        var outcomes: [Outcome] = []
        self.stateLock.withLock {
            for record in self.unapplied.prefix(count) {
                defer { self.appliedSeq = record.seq }
                if let proposer = self.proposers.removeValue(forKey: record.seq) {
                    outcomes.append((proposer.completion, .success(self.machine.apply(proposer.op))))
                    continue
                }
                // An empty record marks the start of an epoch and changes nothing.
                guard record.payload.readableBytes > 0 else { continue }
                var payload = record.payload
                do {
                    _ = self.machine.apply(try Machine.decodeOp(from: &payload))
                } catch {
                    self.logger.error("an op from the log does not decode", metadata: ["replica.seq": "\(record.seq)"])
                }
            }
        }
        self.unapplied.removeFirst(count)
        return outcomes
    }

    /// Streams the newest snapshot to the other tracker (FULLSYNC); catch-up goes on once it is sent.
    private func streamSnapshot() {
        guard let link = self.link, let newest = try? self.directory.snapshots().last else { return }
        self.logger.notice("sending a snapshot to the other tracker (FULLSYNC)", metadata: ["at_seq": "\(newest)"])
        link.sendSnapshot(path: self.directory.snapshotPath(seq: newest), epoch: self.core.epoch) { position in
            guard let position else { return }
            self.drive { core, reader in core.snapshotSent(at: position, log: reader) }
        }
    }

    /// Tells each proposer its outcome: callbacks at once, promises grouped into one task per event loop.
    private static func complete(_ outcomes: [Outcome]) {
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
            case .forwarded(let id, let seq, let link):
                switch result {
                case .success(let output):
                    var bytes = ByteBufferAllocator().buffer(capacity: 64)
                    Machine.encode(output, into: &bytes)
                    link.forward(.reply(id: id, seq: seq, output: bytes))
                case .failure(let error):
                    link.forward(.refusal(id: id, reason: error.description))
                }
            }
        }
        for (loop, items) in byLoop.values {
            loop.execute {
                for (promise, result) in items { promise.completeWith(result.mapError { $0 }) }
            }
        }
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

    private func discardIncoming() {
        guard let incoming = self.incoming else { return }
        Foundation.close(incoming.fd)
        unlink(incoming.path)
        self.incoming = nil
    }

    // MARK: The writer thread

    private func queueWork(_ items: [DiskWork]) {
        self.queue.withLock {
            self.work += items
            self.queue.signal()
        }
    }

    private func runWriter() {
        while let batch = self.nextBatch() {
            self.perform(batch)
        }
        self.queue.lock()
        self.writerDone = true
        self.queue.broadcast()
        self.queue.unlock()
    }

    /// Waits for work; nil once closing with none left.
    private func nextBatch() -> [DiskWork]? {
        self.queue.lock()
        defer { self.queue.unlock() }
        while self.work.isEmpty && !self.closing { self.queue.wait() }
        if self.work.isEmpty { return nil }
        defer { self.work.removeAll(keepingCapacity: true) }
        return self.work
    }

    /// Does a batch of work in order; consecutive appends share one write and one `fdatasync`.
    private func perform(_ batch: [DiskWork]) {
        var pending: [LogRecord] = []
        for item in batch {
            if self.queue.withLock({ self.failure }) != nil {
                // The log's state is unknown: nothing more is done to the directory.
                if case .install(_, _, _, let done) = item { done.signal() }
                continue
            }
            if case .append(let records) = item {
                pending += records
                continue
            }
            self.write(&pending)
            do throws(ReplicaError) {
                try self.perform(item)
            } catch {
                self.logger.critical(
                    "the data directory could not be updated; this tracker takes no more writes: restart it",
                    metadata: ["error": "\(error)"])
                self.fail(error)
            }
        }
        self.write(&pending)
    }

    private func perform(_ item: DiskWork) throws(ReplicaError) {
        switch item {
        case .append:
            preconditionFailure("appends are written in batches")
        case .saveEpoch(let epoch):
            try EpochFile.save(epoch, in: self.directory)
        case .cut(let seq, let dropSnapshots):
            self.queue.withLock { while self.snapshotRunning { self.queue.wait() } }
            let newestSnapshot = try self.directory.snapshots().last ?? 0
            guard dropSnapshots || newestSnapshot <= seq else {
                // A snapshot written meanwhile holds what is to be cut: the state on disk cannot be cut back.
                throw .corruptSnapshot(
                    path: self.directory.path, detail: "a snapshot holds ops past \(seq), which must be cut")
            }
            let (count, path) = try LogCutter.cut(
                after: seq, dropSnapshots: dropSnapshots, in: self.directory, now: UInt64(Date().timeIntervalSince1970))
            if count > 0 {
                self.logger.warning(
                    "cut ops the primary's log does not hold; they are kept aside",
                    metadata: ["replica.after_seq": "\(seq)", "ops": "\(count)", "path": "\(path ?? "")"])
            }
            try self.reopenLog(after: seq)
        case .rebuild:
            let recovery = try Recovery.recover(from: self.directory, initial: self.initial, logger: self.logger)
            self.stateLock.withLock {
                self.machine = recovery.machine
                self.appliedSeq = recovery.lastSeq
            }
            self.logger.notice("rebuilt the state after a cut", metadata: ["replica.seq": "\(recovery.lastSeq)"])
        case .install(let file, let machine, let path, let done):
            defer { done.signal() }
            for segment in try self.directory.segments() { unlink(self.directory.segmentPath(firstSeq: segment)) }
            for snapshot in try self.directory.snapshots() { unlink(self.directory.snapshotPath(seq: snapshot)) }
            guard rename(path, self.directory.snapshotPath(seq: file.seq)) == 0 else {
                throw .io("rename", path: path, errno: errno)
            }
            try self.reopenLog(after: file.seq)
            self.opsSinceSnapshot = 0
            self.bytesSinceSnapshot = 0
            self.stateLock.withLock {
                self.machine = machine
                self.appliedSeq = file.seq
            }
            let position = LogPosition(epoch: file.epoch, seq: file.seq)
            self.logger.notice("installed the primary's snapshot (FULLSYNC)", metadata: ["at": "\(position)"])
            self.drive { core, reader in
                reader.firstSeq = file.seq + 1
                reader.reset()
                return core.snapshotInstalled(at: position)
            }
        }
    }

    /// Points the writer at the end of a log that now ends at `seq`.
    private func reopenLog(after seq: UInt64) throws(ReplicaError) {
        self.log.close()
        self.log = try SegmentWriter(directory: self.directory, firstSeq: try self.directory.segments().last ?? seq + 1)
        self.lastWritten = seq
    }

    /// Writes `pending` with one write and one `fdatasync`, reports them durable (or not) to the core, and
    /// starts a snapshot when one is due.
    private func write(_ pending: inout [LogRecord]) {
        guard let first = pending.first, let last = pending.last else { return }
        defer { pending.removeAll(keepingCapacity: true) }
        if self.queue.withLock({ self.failure }) != nil { return }
        var bytes = ByteBufferAllocator().buffer(capacity: pending.reduce(0) { $0 + $1.encodedLength })
        for record in pending { bytes.writeLogRecord(record) }
        do throws(ReplicaError) {
            try self.log.append(bytes)
        } catch {
            if !error.isDiskFull || self.log.isBroken { self.fail(error) }
            self.logger.error("WAL append failed", metadata: ["error": "\(error)"])
            self.reportFailedWrite(from: first, error: error)
            return
        }
        self.lastWritten = last.seq
        self.opsSinceSnapshot += pending.count
        self.bytesSinceSnapshot += bytes.readableBytes
        self.stateLock.withLock { self.batches += 1 }
        self.drive { core, _ in core.persisted(through: LogPosition(epoch: last.epoch, seq: last.seq)) }
        if self.opsSinceSnapshot >= self.configuration.snapshotEveryOps
            || self.bytesSinceSnapshot >= self.configuration.snapshotEveryBytes
        {
            self.startSnapshot()
        }
    }

    /// Tells the core the records from `first` on are not on disk, answers their proposers with `error`, and
    /// drops the queued records that followed them.
    private func reportFailedWrite(from first: LogRecord, error: ReplicaError) {
        let outcomes = self.driver.withLock { () -> [Outcome] in
            var outcomes = self.abandonProposers(after: first.seq - 1, with: error)
            outcomes += self.execute(
                self.core.persistFailed(at: LogPosition(epoch: first.epoch, seq: first.seq), log: self.reader))
            let end = self.core.last.seq
            self.queue.withLock {
                self.work = self.work.compactMap { item in
                    guard case .append(let records) = item else { return item }
                    let kept = records.filter { $0.seq <= end }
                    return kept.isEmpty ? nil : .append(kept)
                }
            }
            return outcomes
        }
        Self.complete(outcomes)
    }

    /// Stops taking writes for good: the log file's state is unknown.
    private func fail(_ error: ReplicaError) {
        self.queue.withLock { self.failure = error }
    }

    private func startSnapshot() {
        let busy = self.queue.withLock {
            defer { self.snapshotRunning = true }
            return self.snapshotRunning
        }
        if busy { return }
        do throws(ReplicaError) {
            try self.log.rotate(firstSeq: self.lastWritten + 1)
        } catch {
            self.logger.error("could not start a new WAL segment", metadata: ["error": "\(error)"])
            self.queue.withLock { self.snapshotRunning = false }
            return
        }
        self.opsSinceSnapshot = 0
        self.bytesSinceSnapshot = 0
        // The state is copied (a reference to the same storage until the next write).
        let (machine, seq, epoch) = self.driver.withLock {
            self.stateLock.withLock {
                (self.machine, self.appliedSeq, self.core.history.epoch(of: self.appliedSeq) ?? 0)
            }
        }
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
        guard seq > 0 else { return }
        var payload = ByteBufferAllocator().buffer(capacity: 1 << 16)
        machine.encodeSnapshot(into: &payload)
        let file = SnapshotFile(epoch: epoch, seq: seq, payload: payload)
        do throws(ReplicaError) {
            try PosixFile.writeAtomically(file.encoded(), to: self.directory.snapshotPath(seq: seq), in: self.directory)
            // A segment goes once the next one starts within the snapshot: all its records are in it.
            let segments = try self.directory.segments()
            for (old, next) in zip(segments, segments.dropFirst()) where next <= seq + 1 {
                unlink(self.directory.segmentPath(firstSeq: old))
            }
            for old in try self.directory.snapshots() where old < seq {
                unlink(self.directory.snapshotPath(seq: old))
            }
            try self.directory.sync()
            self.driver.withLock { self.reader.firstSeq = max(self.reader.firstSeq, seq + 1) }
            self.logger.info(
                "wrote snapshot", metadata: ["replica.seq": "\(seq)", "snapshot.bytes": "\(payload.readableBytes)"])
        } catch {
            self.logger.error("snapshot failed; the WAL is kept", metadata: ["error": "\(error)"])
        }
    }
}

/// What one tracker is in the pair, for `tandemctl status`.
public struct ReplicaStatus: Sendable {
    /// Primary, backup or waiting.
    public var role: ReplicaRole
    /// The highest epoch this tracker knows.
    public var epoch: UInt64
    /// Where its log ends.
    public var last: LogPosition
    /// The last entry on its disk.
    public var durableSeq: UInt64
    /// Primary: acknowledged up to here. Backup: the primary's commit point as last heard.
    public var commitSeq: UInt64
    /// Applied up to here.
    public var appliedSeq: UInt64
    /// Whether a sync connection to the other tracker is up.
    public var peerConnected: Bool
    /// Primary: where the backup's log is known to match (nil without a backup).
    public var backupMatch: UInt64?
    /// Primary: whether the backup is in sync (commits wait for it).
    public var backupInSync: Bool
    /// Primary: the bytes of the log records the backup does not hold yet; nil without a backup, or when they
    /// go back further than this tracker has counted (before it started, or more than 2^20 records).
    public var backupLagBytes: UInt64?
    /// Why a tracker that is not primary takes no writes, when there is more to say than "backup".
    public var standbyReason: String?
    /// When the role last changed.
    public var roleSince: Date

    /// A status with every field given.
    public init(
        role: ReplicaRole, epoch: UInt64, last: LogPosition, durableSeq: UInt64, commitSeq: UInt64,
        appliedSeq: UInt64, peerConnected: Bool, backupMatch: UInt64?, backupInSync: Bool, backupLagBytes: UInt64?,
        standbyReason: String?, roleSince: Date
    ) {
        self.role = role
        self.epoch = epoch
        self.last = last
        self.durableSeq = durableSeq
        self.commitSeq = commitSeq
        self.appliedSeq = appliedSeq
        self.peerConnected = peerConnected
        self.backupMatch = backupMatch
        self.backupInSync = backupInSync
        self.backupLagBytes = backupLagBytes
        self.standbyReason = standbyReason
        self.roleSince = roleSince
    }
}
