import Foundation
import NIOCore
import ReplicaCore

/// The replica's storage in memory, for deterministic tests of the driver: submitted work waits until
/// ``flush()`` does it, as a disk's write and `fdatasync` return when they will, and ``crash()`` loses the work
/// still waiting, as a process's death loses what was not synced. What was flushed stays in ``contents``
/// across a crash, like a data directory.
///
/// Nothing runs on its own: the test decides when the disk completes. Events go to the `report` given to
/// ``start(reporting:)``, in order, from the thread that calls ``flush()``.
public final class MemoryStorage<Machine: StateMachine>: ReplicaStorage, @unchecked Sendable {
    /// What the memory disk holds.
    public struct Contents: Sendable {
        /// The durable log, in seq order; records the snapshot covers may remain, as in a segment.
        public var records: [LogRecord] = []
        /// The newest snapshot: the state after `position`.
        public var snapshot: (machine: Machine, position: LogPosition)?
        /// The highest epoch saved.
        public var epoch: UInt64 = 0
        /// Records cut from the log, kept aside as a data directory keeps `cut-*.log`.
        public var cutAside: [LogRecord] = []
        /// The storage stopped (as a disk one does when its directory cannot be updated): no more work is done.
        public var stopped = false
    }

    private let lock = NSLock()
    private let initial: Machine
    private var disk = Contents()
    private var queue: [StorageWork<Machine>] = []
    private var incoming: Incoming?
    private var report: @Sendable (StorageEvent<Machine>) -> Void = { _ in }
    private let reader = MemoryLogReader<Machine>()
    /// Appends are made at once when nothing is queued (``appendNow(_:generation:)``), as the disk storage
    /// does when its writer is idle; otherwise they wait for ``flush()``.
    private let appendsAtOnce: Bool

    /// An empty disk; `initial` is the state of an empty log. With `appendsAtOnce`, a batch of appends made
    /// when nothing is queued is durable at once, as the disk storage's on an idle writer.
    public init(initial: Machine, appendsAtOnce: Bool = false) {
        self.initial = initial
        self.appendsAtOnce = appendsAtOnce
        self.reader.storage = self
    }

    /// What the disk holds; a test may change it between a crash and a restart (a lost tail, a lost disk).
    public var contents: Contents {
        get { self.lock.withLock { self.disk } }
        set { self.lock.withLock { self.disk = newValue } }
    }

    /// What the disk will hold once the queued work is done: the log and snapshot as the driver sees them.
    public var contentsAfterQueue: Contents {
        var (disk, incoming, queue) = self.lock.withLock { (self.disk, self.incoming, self.queue) }
        _ = Self.run(queue, on: &disk, incoming: &incoming, initial: self.initial)
        return disk
    }

    /// Whether work waits for ``flush()``.
    public var hasQueuedWork: Bool { self.lock.withLock { !self.queue.isEmpty } }

    /// What a restart finds: the snapshot's state and the durable log applied after it.
    public var recovered: Recovery<Machine> { Self.recover(self.contents, initial: self.initial) }

    /// Starts reporting to `report` (a stopped disk works again: the operator mended it before the restart);
    /// the reader starts after the snapshot.
    public func start(reporting report: @escaping @Sendable (StorageEvent<Machine>) -> Void) {
        self.lock.withLock {
            self.report = report
            self.disk.stopped = false
        }
        self.reader.firstSeq = (self.contents.snapshot?.position.seq ?? 0) + 1
    }

    /// The process died: the work not flushed is lost, and nothing more is reported.
    public func crash() {
        self.lock.withLock {
            self.queue = []
            self.incoming = nil
            self.report = { _ in }
        }
    }

    /// The disk fails as a data directory that cannot be updated: the queued work is lost, nothing more is done,
    /// and the storage reports that it stopped.
    public func stop(_ error: ReplicaError) {
        let report = self.lock.withLock {
            self.disk.stopped = true
            self.queue = []
            return self.report
        }
        report(.stopped(error))
    }

    /// Reports a snapshot due now, as the disk storage does after enough writes.
    public func requestSnapshot() {
        self.lock.withLock { self.report }(.snapshotDue)
    }

    /// Does every queued work item in order and reports what happened; returns the events reported.
    @discardableResult
    public func flush() -> [StorageEvent<Machine>] {
        let (events, report) = self.lock.withLock {
            defer { self.queue = [] }
            return (Self.run(self.queue, on: &self.disk, incoming: &self.incoming, initial: self.initial), self.report)
        }
        for event in events { report(event) }
        return events
    }

    public var log: any StorageLogReader { self.reader }

    public var newestSnapshotPath: String? {
        self.contents.snapshot.map { "memory:snapshot-\($0.position.seq)" }
    }

    /// The newest snapshot encoded as a snapshot file, as the primary streams it (FULLSYNC).
    public func newestSnapshotFile() -> ByteBuffer? {
        guard let snapshot = self.contents.snapshot else { return nil }
        var payload = ByteBufferAllocator().buffer(capacity: 256)
        snapshot.machine.encodeSnapshot(into: &payload)
        return SnapshotFile(epoch: snapshot.position.epoch, seq: snapshot.position.seq, payload: payload).encoded()
    }

    public func submit(_ work: [StorageWork<Machine>]) {
        self.lock.withLock { self.queue += work }
    }

    public func appendNow(_ records: [LogRecord], generation: Int) -> [StorageEvent<Machine>]? {
        self.lock.withLock {
            guard self.appendsAtOnce, self.queue.isEmpty, !self.disk.stopped else { return nil }
            return Self.run([.append(records, generation: generation)], on: &self.disk, incoming: &self.incoming,
                initial: self.initial)
        }
    }

    /// Flushes what is queued.
    public func close() {
        self.flush()
    }

    /// A FULLSYNC snapshot being received: the sender's epoch and the bytes so far.
    private typealias Incoming = (epoch: UInt64, bytes: ByteBuffer)

    /// Does `work` in order on `disk`; returns what to report. Consecutive appends share one sync, reported
    /// once.
    private static func run(
        _ work: [StorageWork<Machine>], on disk: inout Contents, incoming: inout Incoming?, initial: Machine
    ) -> [StorageEvent<Machine>] {
        var events: [StorageEvent<Machine>] = []
        var appended: LogRecord?
        for item in work {
            if disk.stopped { break }
            if case .append(let records, _) = item {
                disk.records += records
                appended = records.last ?? appended
                continue
            }
            if let last = appended { events.append(.persisted(through: LogPosition(epoch: last.epoch, seq: last.seq))) }
            appended = nil
            events += Self.perform(item, on: &disk, incoming: &incoming, initial: initial)
        }
        if let last = appended { events.append(.persisted(through: LogPosition(epoch: last.epoch, seq: last.seq))) }
        return events
    }

    /// Does one item other than an append; returns what to report.
    private static func perform(
        _ item: StorageWork<Machine>, on disk: inout Contents, incoming: inout Incoming?, initial: Machine
    ) -> [StorageEvent<Machine>] {
        switch item {
        case .append:
            preconditionFailure("appends are done in runs")
        case .saveEpoch(let epoch):
            disk.epoch = max(disk.epoch, epoch)
            return [.epochSaved(epoch)]
        case .cut(let seq, let dropSnapshots):
            if let snapshot = disk.snapshot, snapshot.position.seq > seq {
                // As on disk: a snapshot past the cut is moved aside only when a FULLSYNC will replace it.
                guard dropSnapshots else {
                    disk.stopped = true
                    return [.stopped(.corruptSnapshot(path: "memory", detail: "a snapshot holds ops past \(seq)"))]
                }
                disk.snapshot = nil
            }
            disk.cutAside += disk.records.filter { $0.seq > seq }
            disk.records.removeAll { $0.seq > seq }
            return []
        case .rebuild:
            let recovery = Self.recover(disk, initial: initial)
            return [.rebuilt(recovery.machine, seq: recovery.lastSeq)]
        case .writeSnapshot(let machine, let epoch, let seq):
            guard seq > (disk.snapshot?.position.seq ?? 0) else { return [] }
            disk.snapshot = (machine, LogPosition(epoch: epoch, seq: seq))
            disk.records.removeAll { $0.seq <= seq }
            return [.snapshotWritten(seq: seq)]
        case .beginReceiving(let epoch):
            incoming = (epoch, ByteBuffer())
            return []
        case .receive(var bytes):
            incoming?.bytes.writeBuffer(&bytes)
            return []
        case .abandonReceiving:
            incoming = nil
            return []
        case .endReceiving:
            defer { incoming = nil }
            return [.received(incoming.flatMap(Self.decode))]
        case .install(let snapshot):
            // As on disk: the log the snapshot replaces is deleted.
            disk.records = []
            disk.snapshot = (snapshot.machine, snapshot.position)
            return [.installed(snapshot.machine, at: snapshot.position)]
        case .discard:
            return []
        }
    }

    /// A received snapshot file, checked and decoded; nil when it is not whole and sound.
    private static func decode(_ incoming: Incoming) -> ReceivedSnapshot<Machine>? {
        guard let file = try? SnapshotFile.decode(incoming.bytes, path: "memory:incoming") else { return nil }
        var payload = file.payload
        guard let machine = try? Machine.decodeSnapshot(from: &payload) else { return nil }
        return ReceivedSnapshot(
            senderEpoch: incoming.epoch, position: LogPosition(epoch: file.epoch, seq: file.seq), machine: machine,
            path: "memory:incoming")
    }

    /// The state `disk` holds: its snapshot and the records after it, applied.
    private static func recover(_ disk: Contents, initial: Machine) -> Recovery<Machine> {
        var recovery = Recovery(
            machine: disk.snapshot?.machine ?? initial, history: EpochHistory(), lastSeq: 0, snapshotSeq: 0,
            openSegment: nil, cutTails: [])
        if let snapshot = disk.snapshot {
            recovery.history.note(epoch: snapshot.position.epoch, seq: snapshot.position.seq)
            recovery.lastSeq = snapshot.position.seq
            recovery.snapshotSeq = snapshot.position.seq
        }
        for record in disk.records where record.seq > recovery.lastSeq {
            recovery.history.note(epoch: record.epoch, seq: record.seq)
            recovery.lastSeq = record.seq
            var payload = record.payload
            if payload.readableBytes > 0, let op = try? Machine.decodeOp(from: &payload) {
                _ = recovery.machine.apply(op)
            }
        }
        return recovery
    }

    /// Reads the durable records from `seq` on, up to `maxBytes` (at least one record).
    fileprivate func records(from seq: UInt64, maxBytes: Int) -> [LogRecord] {
        var records: [LogRecord] = []
        var bytes = 0
        for record in self.contents.records where record.seq >= seq {
            if !records.isEmpty && bytes + record.payload.readableBytes > maxBytes { break }
            bytes += record.payload.readableBytes
            records.append(record)
        }
        return records
    }
}

/// The memory disk's log, read by the core for catch-up.
final class MemoryLogReader<Machine: StateMachine>: StorageLogReader {
    /// The storage that owns this reader.
    weak var storage: MemoryStorage<Machine>?
    var firstSeq: UInt64 = 1

    /// Nothing to forget: every read starts from the records.
    func reset() {}

    func records(from seq: UInt64, maxBytes: Int) -> [LogRecord] {
        guard seq >= self.firstSeq else { return [] }
        return self.storage?.records(from: seq, maxBytes: maxBytes) ?? []
    }
}
