import ReplicaCore
import Testing

@testable import Replica

/// FULLSYNC, step by step: a backup whose entries were trimmed gets the snapshot, once, and never one older than
/// what it holds.
extension ReplicaCoreScenarioTests {
    /// A synced pair (catch-up in batches of 8 bytes) whose primary snapshotted and trimmed its log; then the
    /// backup crashed, `writesMeanwhile` values were written, and the backup came back with an empty log and
    /// connected: its catch-up is a FULLSYNC.
    static func backupRestartedWithoutItsDisk(writesMeanwhile: Int) -> PairSimulation {
        let pair = Self.syncedPair(batchBytes: 8)
        pair.snapshotAndTrim(0)
        pair.crash(1)
        for _ in 0..<writesMeanwhile { pair.propose(0) }
        pair.fsync(0)
        pair.nodes[1].memory.contents.records = []
        pair.restart(1)
        pair.connect()
        return pair
    }

    @Test func aBackupWhoseEntriesWereTrimmedGetsAFullSync() {
        let pair = Self.syncedPair(writes: 5)
        pair.crash(1)
        pair.tick(0, times: 5)
        for _ in 0..<4 { pair.propose(0) }
        pair.fsync(0)
        pair.snapshotAndTrim(0)
        pair.nodes[1].memory.contents.records = []
        pair.restart(1)
        pair.connect()
        pair.stabilize()
        #expect(pair.nodes[1].snapshot.position == pair.nodes[0].snapshot.position)
        #expect(pair.nodes[1].values == (0..<9).map { "v\($0)" })
        pair.propose(0)
        pair.stabilize()
        #expect(pair.nodes[0].core.backupInSync)
        #expect(pair.nodes[1].values.count == 10)
        Self.expectSound(pair)
        pair.expectTranscript()
    }

    /// Found in review: two hellos on one connection start two catch-ups, and the second streams an older
    /// snapshot after the backup made newer entries durable and acknowledged them. Installing it would lose them.
    @Test func aBackupRefusesASnapshotOlderThanItsDurableLog() {
        let pair = Self.backupRestartedWithoutItsDisk(writesMeanwhile: 12)
        // The primary hears the backup's first hello and starts a catch-up: the snapshot, then entries.
        pair.deliver(from: 1)
        // The backup learns who leads and says hello again: a second catch-up will follow on this connection.
        pair.deliver(from: 0)
        while !pair.links[0].isEmpty { pair.deliver(from: 0) }
        while pair.nodes[1].memory.hasQueuedWork { pair.fsync(1) }
        while !pair.links[1].isEmpty { pair.deliver(from: 1) }
        #expect(pair.acknowledged.count > 3, "entries after the first snapshot were acknowledged")
        // The second catch-up streams the same, older snapshot: the backup, whose log reaches past it, refuses it.
        pair.stabilize()
        #expect(pair.acknowledged.count == 15)
        #expect(pair.transcript.filter { $0.hasPrefix("  1 disk: installed") }.count == 1)
        pair.pause(0)
        pair.links = [[], []]
        pair.tick(1, times: 5)
        #expect(pair.nodes[1].core.role == .primary)
        Self.expectSound(pair)
        pair.expectTranscript()
    }

    /// A backup says hello on connecting and again once it learns who leads, which can be before it has installed
    /// the snapshot the first hello brought: the primary streamed once for both (it streamed twice, and the
    /// backup dropped the second stream as it came; `tandemd` logged the FULLSYNC twice for one rejoin).
    @Test func aSecondHelloDuringAStreamStartsNoSecondStream() {
        let pair = Self.backupRestartedWithoutItsDisk(writesMeanwhile: 0)
        pair.deliver(from: 1)
        pair.deliver(from: 0)
        pair.deliver(from: 1)
        let streams = pair.links[0].filter { if case .snapshot = $0 { true } else { false } }.count
        #expect(streams == 1, "the primary streams once for both hellos")
        while !pair.links[0].isEmpty { pair.deliver(from: 0) }
        #expect(pair.nodes[1].driver.installing, "the stream is being checked and installed")
        while pair.nodes[1].memory.hasQueuedWork { pair.fsync(1) }
        pair.stabilize()
        #expect(pair.transcript.filter { $0.hasPrefix("  1 disk <- ") && $0.hasSuffix("snapshot bytes") }.count == 1)
        #expect(pair.transcript.filter { $0.hasPrefix("  1 disk: installed") }.count == 1)
        #expect(pair.values(inLogOf: 1) == pair.values(inLogOf: 0))
        Self.expectSound(pair)
        pair.expectTranscript()
    }

    /// A second stream of the same snapshot that comes while the first is being installed (the connection
    /// dropped and came back meanwhile, and the backup's new hello still names its old position) is dropped as it
    /// comes: it would be refused after the install, and is not held in memory.
    @Test func aSecondStreamDuringAnInstallIsDroppedNotHeld() {
        let pair = Self.backupRestartedWithoutItsDisk(writesMeanwhile: 0)
        pair.deliver(from: 1)
        while !pair.links[0].isEmpty { pair.deliver(from: 0) }
        #expect(pair.nodes[1].driver.installing, "the first stream is being checked and installed")
        pair.disconnect()
        pair.connect()
        pair.deliver(from: 1)
        let streams = pair.links[0].filter { if case .snapshot = $0 { true } else { false } }.count
        #expect(streams == 1, "a new connection's hello gets the snapshot again")
        while !pair.links[0].isEmpty { pair.deliver(from: 0) }
        #expect(pair.nodes[1].driver.installing)
        #expect(pair.nodes[1].driver.heldBytes == 0, "the second stream's bytes are not held")
        while pair.nodes[1].memory.hasQueuedWork { pair.fsync(1) }
        pair.stabilize()
        #expect(pair.transcript.filter { $0.hasPrefix("  1 disk: installed") }.count == 1)
        #expect(pair.values(inLogOf: 1) == pair.values(inLogOf: 0))
        Self.expectSound(pair)
        pair.expectTranscript()
    }
}
