import Foundation
import Logging
import NIOCore
import ReplicaCore
import SystemPackage

/// The replica's storage on disk: WAL segments with group commit, snapshots, the epoch and durable-mark files,
/// FULLSYNC receiving, in one `data_dir`.
///
/// One writer thread does the submitted work in order: consecutive appends share one `write` and one
/// `fdatasync` (at most ``SegmentWriter/maxBatchBytes`` each), and each batch is reported persisted. Every
/// `snapshotEveryOps` ops or `snapshotEveryBytes` bytes it starts a new segment and reports a snapshot due; the
/// snapshot the driver then sends is written by a background thread, after which the segments it covers are
/// deleted. A failed write on a full disk is cut back and reported; any other failed write or `fdatasync`
/// leaves the file's state unknown, so the storage stops.
public final class DiskStorage<Machine: StateMachine>: ReplicaStorage, @unchecked Sendable {
    /// When to write snapshots.
    public struct Configuration: Sendable {
        /// Start a snapshot after this many ops since the last one.
        public var snapshotEveryOps: Int
        /// Start a snapshot after this many WAL bytes since the last one.
        public var snapshotEveryBytes: Int

        /// The defaults are those of `storage:` in cluster.yaml.
        public init(snapshotEveryOps: Int = 100_000, snapshotEveryBytes: Int = 64 << 20) {
            self.snapshotEveryOps = snapshotEveryOps
            self.snapshotEveryBytes = snapshotEveryBytes
        }
    }

    /// A FULLSYNC snapshot arriving from the primary, written to a temporary file as it comes.
    struct IncomingSnapshot {
        var fd: FileDescriptor
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
    let lockFD: FileDescriptor
    let reader: DiskLogReader
    /// What was found on disk at start.
    public let recovered: Recovery<Machine>
    /// The highest epoch saved at start.
    public let savedEpoch: UInt64

    // The queue, shared with the threads that submit and close.
    let queue = NSCondition()
    var work: [StorageWork<Machine>] = []
    var closing = false
    var stopped = false
    var writerDone = false
    var snapshotRunning = false
    /// The writer thread is doing a batch.
    var writerBusy = false
    /// An append is being made on the driver's thread (``appendNow(_:generation:)``): the writer waits.
    var appendingNow = false
    var filesClosed = false
    var report: @Sendable (StorageEvent<Machine>) -> Void = { _ in }

    // Owned by the writer thread, or by the driver's thread while it appends (never both: see `appendingNow`).
    var segment: SegmentWriter
    var lastWritten: UInt64
    /// When ``DurableMark`` was last written.
    var lastMarked = ContinuousClock.now
    var opsSinceSnapshot = 0
    var bytesSinceSnapshot = 0
    /// Appends of this generation and older are dropped: a write of theirs failed.
    var failedGeneration = -1
    /// The generation of the appends being batched.
    var pendingGeneration = 0
    /// A snapshot was reported due and not written yet.
    var snapshotAsked = false
    var incoming: IncomingSnapshot?
    /// How many batches were written, each with one `write` and one `fdatasync`.
    let batches = LockedCounter()
    /// Hears each batch written.
    let observer: ReplicaObserver

    /// Opens `directory` (creating it if needed), takes its lock and recovers what it holds. Nothing runs until
    /// ``start(reporting:)``.
    public init(
        directory: DataDirectory, initial: Machine, configuration: Configuration = .init(),
        observer: ReplicaObserver = .none, logger: Logger
    ) throws(ReplicaError) {
        try directory.create()
        let lockFD = try directory.lock()
        do throws(ReplicaError) {
            self.recovered = try Recovery.recover(from: directory, initial: initial, logger: logger)
            self.savedEpoch = try EpochFile.read(from: directory)
            self.segment = try SegmentWriter(
                directory: directory, firstSeq: self.recovered.openSegment ?? self.recovered.lastSeq + 1)
        } catch {
            // The lock lives as long as its descriptor: a failed start must not keep the directory locked.
            try? lockFD.close()
            throw error
        }
        self.lockFD = lockFD
        self.directory = directory
        self.configuration = configuration
        self.observer = observer
        self.initial = initial
        self.logger = logger
        self.lastWritten = self.recovered.lastSeq
        self.opsSinceSnapshot = Int(self.recovered.lastSeq - self.recovered.snapshotSeq)
        self.reader = DiskLogReader(directory: directory, firstSeq: self.recovered.snapshotSeq + 1)
    }

    /// Starts the writer thread; `report` hears every event, from the storage's threads.
    public func start(reporting report: @escaping @Sendable (StorageEvent<Machine>) -> Void) {
        self.report = report
        let thread = Thread { [self] in self.runWriter() }
        thread.name = "tandem-wal"
        thread.start()
    }

    public var log: any StorageLogReader { self.reader }

    public var newestSnapshotPath: String? {
        (try? self.directory.snapshots().last).flatMap { $0.map(self.directory.snapshotPath(seq:)) }
    }

    /// How many batches have been written, each with one `write` and one `fdatasync`.
    public var committedBatches: Int { self.batches.value }

    public func submit(_ work: [StorageWork<Machine>]) {
        self.queue.withLock { self.work += work }
        // Signalled after the lock is released, so the writer does not wake only to wait for it.
        self.queue.signal()
    }

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
        self.discardIncoming()
        self.segment.close()
        try? self.lockFD.close()
    }
}

/// A counter read from any thread.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    var value: Int { self.lock.withLock { self.count } }

    func increment() { self.lock.withLock { self.count += 1 } }
}
