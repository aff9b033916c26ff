import Foundation
import Logging
import NIOCore
import ReplicaCore

/// The writer thread: it takes the submitted work (appends in batches, epochs, cuts, rebuilds, snapshots,
/// FULLSYNC receiving and installs), does it in order, and reports what happened.
extension DiskStorage {
    func runWriter() {
        while let batch = self.nextBatch() {
            self.perform(batch)
            self.queue.withLock { self.writerBusy = false }
        }
        if !self.queue.withLock({ self.stopped }) { self.markDurable() }
        self.queue.lock()
        self.writerDone = true
        self.queue.broadcast()
        self.queue.unlock()
    }

    /// Waits for work, and for an append made on the caller's thread (``appendNow(_:generation:)``) to end; nil
    /// once closing with none left.
    func nextBatch() -> [StorageWork<Machine>]? {
        self.queue.lock()
        defer { self.queue.unlock() }
        while self.appendingNow || (self.work.isEmpty && !self.closing) { self.queue.wait() }
        if self.work.isEmpty { return nil }
        self.writerBusy = true
        defer { self.work.removeAll(keepingCapacity: true) }
        return self.work
    }

    /// Does a batch of work in order; consecutive appends share one write and one `fdatasync`, up to
    /// ``SegmentWriter/maxBatchBytes`` each.
    func perform(_ batch: [StorageWork<Machine>]) {
        var pending: [LogRecord] = []
        var pendingBytes = 0
        for item in batch {
            // Once stopped, the log's state is unknown: nothing more is done to the directory.
            if self.queue.withLock({ self.stopped }) { return }
            if case .append(let records, let generation) = item {
                if generation <= self.failedGeneration { continue }
                self.pendingGeneration = generation
                self.report(self.gather(records, into: &pending, bytes: &pendingBytes))
                continue
            }
            self.report(self.write(&pending))
            pendingBytes = 0
            do throws(ReplicaError) {
                try self.perform(item)
            } catch {
                self.logger.critical(
                    "the data directory could not be updated; this tracker takes no more writes: restart it",
                    metadata: ["error": "\(error)"])
                self.report([self.stop(error)])
            }
        }
        self.report(self.write(&pending))
    }

    /// Adds `records` to the batch `pending` of `bytes`, writing it first whenever the next record would take it
    /// past ``SegmentWriter/maxBatchBytes``; returns what those writes report. After a failed write the rest is
    /// dropped: it was numbered after what failed.
    func gather(_ records: [LogRecord], into pending: inout [LogRecord], bytes: inout Int) -> [StorageEvent<Machine>] {
        var events: [StorageEvent<Machine>] = []
        for record in records {
            if bytes + record.encodedLength > SegmentWriter.maxBatchBytes, !pending.isEmpty {
                events += self.write(&pending)
                bytes = 0
                if self.failedGeneration >= self.pendingGeneration { return events }
            }
            pending.append(record)
            bytes += record.encodedLength
        }
        return events
    }

    /// Reports `events`, in order.
    func report(_ events: [StorageEvent<Machine>]) {
        for event in events { self.report(event) }
    }

    func perform(_ item: StorageWork<Machine>) throws(ReplicaError) {
        switch item {
        case .append:
            preconditionFailure("appends are written in batches")
        case .saveEpoch(let epoch):
            try EpochFile.save(epoch, in: self.directory)
            self.report(.epochSaved(epoch))
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
            self.logger.notice("rebuilt the state after a cut", metadata: ["replica.seq": "\(recovery.lastSeq)"])
            self.report(.rebuilt(recovery.machine, seq: recovery.lastSeq))
        case .writeSnapshot(let machine, let epoch, let seq):
            self.snapshotAsked = false
            self.writeSnapshotInBackground(of: machine, epoch: epoch, seq: seq)
        case .beginReceiving(let epoch):
            self.beginReceiving(epoch: epoch)
        case .receive(let bytes):
            self.receive(bytes)
        case .abandonReceiving:
            self.discardIncoming()
        case .endReceiving:
            self.report(.received(self.endReceiving()))
        case .install(let snapshot):
            try self.install(snapshot)
        case .discard(let snapshot):
            unlink(snapshot.path)
        }
    }

    /// Points the writer at the end of a log that now ends at `seq`.
    func reopenLog(after seq: UInt64) throws(ReplicaError) {
        self.segment.close()
        self.segment = try SegmentWriter(
            directory: self.directory, firstSeq: try self.directory.segments().last ?? seq + 1)
        self.lastWritten = seq
    }

    /// Writes `pending` with one write and one `fdatasync`; returns what to report: durable (or not), and a
    /// snapshot due when one is.
    func write(_ pending: inout [LogRecord]) -> [StorageEvent<Machine>] {
        guard let first = pending.first, let last = pending.last else { return [] }
        defer { pending.removeAll(keepingCapacity: true) }
        var bytes = ByteBufferAllocator().buffer(capacity: pending.reduce(0) { $0 + $1.encodedLength })
        for record in pending { bytes.writeLogRecord(record) }
        let started = ContinuousClock.now
        do throws(ReplicaError) {
            try self.segment.append(bytes)
        } catch {
            self.logger.error("WAL append failed", metadata: ["error": "\(error)"])
            // The queued appends after these were numbered after them: they are dropped too.
            self.failedGeneration = self.pendingGeneration
            let failed = StorageEvent<Machine>.writeFailed(from: LogPosition(epoch: first.epoch, seq: first.seq), error)
            return !error.isDiskFull || self.segment.isBroken ? [failed, self.stop(error)] : [failed]
        }
        self.observer.walBatchWritten(pending.count, bytes.readableBytes, ContinuousClock.now - started)
        self.lastWritten = last.seq
        if ContinuousClock.now - self.lastMarked >= Self.markInterval { self.markDurable() }
        self.opsSinceSnapshot += pending.count
        self.bytesSinceSnapshot += bytes.readableBytes
        self.batches.increment()
        let persisted = StorageEvent<Machine>.persisted(through: LogPosition(epoch: last.epoch, seq: last.seq))
        if self.opsSinceSnapshot >= self.configuration.snapshotEveryOps
            || self.bytesSinceSnapshot >= self.configuration.snapshotEveryBytes, self.startSnapshot()
        {
            return [persisted, .snapshotDue]
        }
        return [persisted]
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

    /// Stops doing work for good; returns the event that says so: the log file's state is unknown.
    func stop(_ error: ReplicaError) -> StorageEvent<Machine> {
        self.queue.withLock { self.stopped = true }
        return .stopped(error)
    }

    /// Starts a new segment for a snapshot, unless one is under way; true when the driver is to be asked for
    /// the state to snapshot.
    func startSnapshot() -> Bool {
        if self.snapshotAsked || self.queue.withLock({ self.snapshotRunning }) { return false }
        do throws(ReplicaError) {
            try self.segment.rotate(firstSeq: self.lastWritten + 1)
        } catch {
            self.logger.error("could not start a new WAL segment", metadata: ["error": "\(error)"])
            return false
        }
        self.opsSinceSnapshot = 0
        self.bytesSinceSnapshot = 0
        self.snapshotAsked = true
        return true
    }

    /// Appends `records` on the calling thread when the writer has nothing to do and returns what happened (as
    /// the writer would report it); nil when the writer is busy or work is queued, and the caller submits them.
    /// The driver calls it on its event loop, so a lone batch needs no hand-over to the writer and back.
    public func appendNow(_ records: [LogRecord], generation: Int) -> [StorageEvent<Machine>]? {
        let idle = self.queue.withLock {
            guard self.work.isEmpty, !self.writerBusy, !self.appendingNow, !self.closing, !self.stopped else {
                return false
            }
            self.appendingNow = true
            return true
        }
        guard idle else { return nil }
        defer {
            self.queue.withLock { self.appendingNow = false }
            // Both the writer and a close may be waiting for it.
            self.queue.broadcast()
        }
        if generation <= self.failedGeneration { return [] }
        self.pendingGeneration = generation
        var pending: [LogRecord] = []
        var bytes = 0
        let events = self.gather(records, into: &pending, bytes: &bytes)
        return events + self.write(&pending)
    }

    func writeSnapshotInBackground(of machine: Machine, epoch: UInt64, seq: UInt64) {
        let busy = self.queue.withLock {
            defer { self.snapshotRunning = true }
            return self.snapshotRunning
        }
        if busy { return }
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
            self.report(.snapshotWritten(seq: seq))
            self.logger.info(
                "wrote snapshot", metadata: ["replica.seq": "\(seq)", "snapshot.bytes": "\(payload.readableBytes)"])
        } catch {
            self.logger.error("snapshot failed; the WAL is kept", metadata: ["error": "\(error)"])
        }
    }
}
