import NIOCore
@testable import Replica
import ReplicaCore

/// One side of the simulated connection: what the driver sends joins the link from its node.
final class SimLink: SyncLink, @unchecked Sendable {
    // The simulation runs on one thread: nothing here is shared across threads.
    unowned let pair: PairSimulation
    let from: Int
    let connection: Int

    init(pair: PairSimulation, from: Int, connection: Int) {
        self.pair = pair
        self.from = from
        self.connection = connection
    }

    func send(_ messages: [SyncMessage]) {
        self.pair.carry(messages.map(PairSimulation.Packet.sync), from: self.from, connection: self.connection)
    }

    func forward(_ frame: ForwardFrame) {
        self.pair.carry([.forward(frame)], from: self.from, connection: self.connection)
    }

    /// Sends the snapshot-follows message and the whole file as one packet; sent once queued.
    func sendSnapshot(path: String, epoch: UInt64, done: @escaping @Sendable (LogPosition?) -> Void) {
        guard let bytes = self.pair.nodes[self.from].memory.newestSnapshotFile(),
            let file = try? SnapshotFile.decode(bytes, path: path)
        else { return done(nil) }
        let position = LogPosition(epoch: file.epoch, seq: file.seq)
        self.pair.carry(
            [.sync(.snapshotFollows(epoch: epoch, position: position)), .snapshot(bytes)], from: self.from,
            connection: self.connection)
        done(position)
    }

    /// The connection breaks once the step is over, as a channel's close is heard on a later turn.
    func close() {
        guard self.connection == self.pair.connection else { return }
        self.pair.transcript.append("  \(self.from) closes the connection")
        self.pair.closeRequested = true
    }
}

/// The memory disk as a node's driver sees it, with each submission written to the transcript.
final class SimDisk: ReplicaStorage, @unchecked Sendable {
    // The simulation runs on one thread: nothing here is shared across threads.
    let memory: MemoryStorage<ValueLog>
    unowned let pair: PairSimulation
    let index: Int

    init(memory: MemoryStorage<ValueLog>, pair: PairSimulation, index: Int) {
        self.memory = memory
        self.pair = pair
        self.index = index
    }

    var log: any StorageLogReader { self.memory.log }
    var newestSnapshotPath: String? { self.memory.newestSnapshotPath }

    func submit(_ work: [StorageWork<ValueLog>]) {
        self.pair.submitted(work, by: self.index)
        self.memory.submit(work)
    }

    func appendNow(_ records: [LogRecord], generation: Int) -> [StorageEvent<ValueLog>]? {
        guard let events = self.memory.appendNow(records, generation: generation) else { return nil }
        self.pair.submitted([.append(records, generation: generation)], by: self.index)
        for event in events { self.pair.transcript.append("  \(self.index) disk at once: \(PairSimulation.describe(event))") }
        return events
    }

    func close() { self.memory.close() }
}
