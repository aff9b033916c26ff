import Foundation
import Logging
import NIOCore
import NIOPosix
import Replica
import ReplicaCore
import Synchronization
import TandemTestKit

/// Runs `body` with a fresh data directory under the system's temporary directory, removed afterwards.
///
/// The directory itself is not created, so that the code under test creates it as it would on first start.
func withTemporaryDataDirectory<Result>(
    _ body: (DataDirectory) async throws -> Result
) async throws -> Result {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("tandem-replica-tests-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(DataDirectory(path: url.path))
}

typealias KeyValueStore = ReplicatedStateMachine<KeyValueMachine>

extension Logger {
    /// A logger that drops everything, for tests that do not look at logs.
    static let quiet = Logger(label: "tandem.replica.tests") { _ in SwiftLogNoOpLogHandler() }
}

/// Opens the store in `directory` with the test state machine. With `promote` it becomes a primary without a
/// backup, as `tandemd --alone` does: each opening starts an epoch, whose marker takes one seq, and this waits
/// until the marker is applied. Without it the store only recovers (and takes no writes).
func openStore(
    _ directory: DataDirectory, snapshotEveryOps: Int = 10_000, logger: Logger = .quiet, promote: Bool = true,
    waitForLock: Bool = true
) throws -> KeyValueStore {
    // A store closed a moment ago may still hold its lock for an instant: another test of this process spawning a
    // child (tandemd, tandemctl) copies every descriptor into it until the child execs, and the lock lives as
    // long as any copy. So a reopen waits a little for the lock, as it would not for another process's.
    let store = try eventually("the data directory's lock") { () -> KeyValueStore? in
        do {
            return try KeyValueStore(
                directory: directory, initial: KeyValueMachine(),
                configuration: .init(snapshotEveryOps: snapshotEveryOps),
                eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        } catch let error as ReplicaError where waitForLock && error == .locked(path: directory.path) {
            return nil
        }
    }
    guard promote else { return store }
    let recovered = store.lastSeq
    store.forcePromote()
    _ = try eventually("the epoch marker to be applied") { store.lastSeq > recovered ? true : nil }
    return store
}

/// A test's own precondition that did not hold.
struct TestFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}

/// Whole-file reads and edits, to play the part of a crash or a damaged disk.
enum DiskFile {
    static func read(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func append(_ bytes: [UInt8], to path: String) throws {
        try Self.write(try Self.read(path) + bytes, to: path)
    }

    static func truncate(_ path: String, to length: Int) throws {
        try Self.write(Array(try Self.read(path).prefix(length)), to: path)
    }

    static func flipByte(at offset: Int, in path: String) throws {
        var bytes = try Self.read(path)
        bytes[offset] ^= 0xFF
        try Self.write(bytes, to: path)
    }

    static func size(_ path: String) throws -> Int {
        try Self.read(path).count
    }
}

extension DataDirectory {
    /// The path of the newest WAL segment, the one new records go to.
    func lastSegmentPath() throws -> String {
        let segments = try self.segments()
        guard let last = segments.last else { throw TestFailure("no WAL segment in \(self.path)") }
        return self.segmentPath(firstSeq: last)
    }

    /// Every record of every segment, in file order, with how each segment ended.
    func scanSegments() throws -> (records: [LogRecord], endings: [LogScan.Ending]) {
        var records: [LogRecord] = []
        var endings: [LogScan.Ending] = []
        for first in try self.segments() {
            let scan = LogScan.scan(ByteBuffer(bytes: try DiskFile.read(self.segmentPath(firstSeq: first))))
            records += scan.records
            endings.append(scan.ending)
        }
        return (records, endings)
    }

    /// Writes a segment by hand: `records` in order, starting the file name at `firstSeq`.
    func writeSegment(firstSeq: UInt64, records: [LogRecord]) throws {
        var buffer = ByteBuffer()
        for record in records { buffer.writeLogRecord(record) }
        try DiskFile.write(Array(buffer.readableBytesView), to: self.segmentPath(firstSeq: firstSeq))
    }
}

extension LogRecord {
    /// A record holding `op`, in epoch 1.
    init(seq: UInt64, op: KeyValueMachine.Op) {
        self.init(epoch: 1, seq: seq, payload: KeyValueMachine.payload(of: op))
    }
}

/// A log handler that keeps every message, to check what recovery reports.
final class LogCapture: Sendable {
    private let events = Mutex<[(level: Logger.Level, message: String)]>([])

    var messages: [(level: Logger.Level, message: String)] { self.events.withLock { $0 } }

    var logger: Logger {
        Logger(label: "tandem.replica.tests") { _ in Handler(capture: self) }
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        var metadataProvider: Logger.MetadataProvider?

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            self.capture.events.withLock { $0.append((event.level, event.message.description)) }
        }
    }
}
