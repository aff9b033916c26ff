import ReplicaCore
import Foundation
import Logging
import NIOCore

/// The writer thread: it takes the disk work the driver queues (appends in batches, epochs, cuts, rebuilds,
/// snapshot installs), does it in order, and reports back to the core.
extension ReplicatedStateMachine {
    func queueWork(_ items: [DiskWork]) {
        self.queue.withLock {
            self.work += items
            self.queue.signal()
        }
    }

    func runWriter() {
        while let batch = self.nextBatch() {
            self.perform(batch)
        }
        if self.queue.withLock({ self.failure }) == nil { self.markDurable() }
        self.queue.lock()
        self.writerDone = true
        self.queue.broadcast()
        self.queue.unlock()
    }

    /// Waits for work; nil once closing with none left.
    func nextBatch() -> [DiskWork]? {
        self.queue.lock()
        defer { self.queue.unlock() }
        while self.work.isEmpty && !self.closing { self.queue.wait() }
        if self.work.isEmpty { return nil }
        defer { self.work.removeAll(keepingCapacity: true) }
        return self.work
    }

    /// Does a batch of work in order; consecutive appends share one write and one `fdatasync`, up to
    /// ``SegmentWriter/maxBatchBytes`` each.
    func perform(_ batch: [DiskWork]) {
        var pending: [LogRecord] = []
        var pendingBytes = 0
        for item in batch {
            if self.queue.withLock({ self.failure }) != nil {
                // The log's state is unknown: nothing more is done to the directory.
                if case .install(_, _, _, let done) = item { done.signal() }
                continue
            }
            if case .append(let records) = item {
                for record in records {
                    if pendingBytes + record.encodedLength > SegmentWriter.maxBatchBytes, !pending.isEmpty {
                        self.write(&pending)
                        pendingBytes = 0
                    }
                    pending.append(record)
                    pendingBytes += record.encodedLength
                }
                continue
            }
            self.write(&pending)
            pendingBytes = 0
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

    func perform(_ item: DiskWork) throws(ReplicaError) {
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
            try DurableMark.lower(to: seq, in: self.directory)
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
            try DurableMark.lower(to: file.seq, in: self.directory)
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
    func reopenLog(after seq: UInt64) throws(ReplicaError) {
        self.log.close()
        self.log = try SegmentWriter(directory: self.directory, firstSeq: try self.directory.segments().last ?? seq + 1)
        self.lastWritten = seq
    }

    /// Writes `pending` with one write and one `fdatasync`, reports them durable (or not) to the core, and
    /// starts a snapshot when one is due.
    func write(_ pending: inout [LogRecord]) {
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
        if ContinuousClock.now - self.lastMarked >= Self.markInterval { self.markDurable() }
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

    /// How often the writer records how far the WAL is synced (``DurableMark``).
    static var markInterval: Duration { .seconds(1) }

    /// Records that the WAL is synced through ``lastWritten``. A failure is logged, not fatal: the mark only
    /// strengthens what recovery can check.
    func markDurable() {
        self.lastMarked = ContinuousClock.now
        do throws(ReplicaError) {
            try DurableMark.save(self.lastWritten, in: self.directory)
        } catch {
            self.logger.warning("could not record how far the WAL is synced", metadata: ["error": "\(error)"])
        }
    }

    /// Tells the core the records from `first` on are not on disk, answers their proposers with `error`, and
    /// drops the queued records that followed them.
    func reportFailedWrite(from first: LogRecord, error: ReplicaError) {
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
    func fail(_ error: ReplicaError) {
        self.queue.withLock { self.failure = error }
    }

    func startSnapshot() {
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
    func writeSnapshot(of machine: Machine, epoch: UInt64, seq: UInt64) {
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
