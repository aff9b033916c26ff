import ReplicaCore
import Testing

@testable import Replica

/// The pair, step by step: election, replication, failover, fencing, catch-up, all without sockets.
@Suite struct ReplicaCoreScenarioTests {
    /// A pair that has elected node 0 and replicated `writes` values, all in sync.
    static func syncedPair(writes: Int = 3, batchBytes: Int = 1 << 20) -> PairSimulation {
        let pair = PairSimulation(batchBytes: batchBytes)
        pair.connect()
        pair.stabilize()
        for _ in 0..<writes { pair.propose(0) }
        pair.stabilize()
        pair.tick(0)
        pair.stabilize()
        return pair
    }

    static func expectSound(_ pair: PairSimulation, _ comment: String = "") {
        if let problem = pair.checkInvariants() {
            let steps = pair.transcript.suffix(60).joined(separator: "\n")
            Issue.record("\(comment) \(problem)\n\(steps)")
        }
    }

    @Test func theFirstTrackerIsElectedAndTheOtherFollows() {
        let pair = Self.syncedPair()
        #expect(pair.nodes[0].core.role == .primary)
        #expect(pair.nodes[1].core.role == .backup)
        #expect(pair.nodes[0].core.epoch % 2 == 0, "node 0 takes even epochs")
        #expect(pair.nodes[0].core.backupInSync)
        #expect(pair.acknowledged.count == 3)
        #expect(pair.nodes[1].values == ["v0", "v1", "v2"])
        #expect(pair.values(inLogOf: 0) == pair.values(inLogOf: 1))
        Self.expectSound(pair)
        pair.expectTranscript()
    }

    @Test func theLongerLogWinsTheElection() {
        let pair = Self.syncedPair()
        pair.crash(1)
        pair.tick(0, times: 5)
        pair.propose(0)
        pair.fsync(0)
        #expect(pair.acknowledged.count == 4, "a primary whose backup is gone commits alone")
        pair.crash(0)
        pair.restart(0)
        pair.restart(1)
        pair.connect()
        pair.stabilize()
        #expect(pair.nodes[0].core.role == .primary)
        #expect(pair.nodes[1].values == ["v0", "v1", "v2", "v3"])

        // Node 1 is preferred only on a tie: here it has the longer log after node 0 lost its tail.
        let other = Self.syncedPair()
        other.crash(0)
        other.crash(1)
        other.nodes[0].memory.contents.records.removeLast()
        other.restart(0)
        other.restart(1)
        other.connect()
        other.stabilize()
        #expect(other.nodes[1].core.role == .primary)
        #expect(other.nodes[0].core.role == .backup)
        Self.expectSound(other)
        pair.expectTranscript()
        other.expectTranscript(named: "theLongerLogWinsTheElection-other")
    }

    @Test func aWriteIsAnsweredOnlyOnceTheInSyncBackupHasIt() {
        let pair = Self.syncedPair()
        pair.propose(0)
        pair.fsync(0)
        #expect(pair.acknowledged.count == 3, "durable on the primary alone is not enough")
        pair.deliver(from: 0)
        pair.fsync(1)
        #expect(pair.acknowledged.count == 3)
        pair.deliver(from: 1)
        #expect(pair.acknowledged.count == 4)
        #expect(pair.nodes[1].values.last == "v3", "the backup applies before it acknowledges")
        Self.expectSound(pair)
        pair.expectTranscript()
    }

    @Test func theBackupPromotesWhenThePrimaryDiesAndTheOldPrimaryRejoins() {
        let pair = Self.syncedPair()
        pair.crash(0)
        pair.tick(1, times: 4)
        #expect(pair.nodes[1].core.role == .backup)
        pair.tick(1)
        #expect(pair.nodes[1].core.role == .primary)
        #expect(pair.nodes[1].core.epoch % 2 == 1, "node 1 takes odd epochs")
        pair.stabilize()
        let accepted = pair.propose(1)
        #expect(accepted)
        pair.stabilize()
        #expect(pair.acknowledged.values.sorted() == ["v0", "v1", "v2", "v3"])
        Self.expectSound(pair)

        pair.restart(0)
        pair.connect()
        pair.stabilize()
        #expect(pair.nodes[0].core.role == .backup)
        #expect(pair.nodes[0].values == ["v0", "v1", "v2", "v3"])
        #expect(pair.nodes[1].core.backupInSync)
        Self.expectSound(pair)
        pair.expectTranscript()
    }

    @Test func aRefusedSyncPortEndsTheWaitAtOnceOnBothSides() {
        // The primary's process is gone: the backup in sync takes over without waiting out the timeout.
        let pair = Self.syncedPair()
        pair.crash(0)
        pair.peerRefused(1)
        #expect(pair.nodes[1].core.role == .primary)
        let accepted = pair.propose(1)
        #expect(accepted)
        pair.stabilize()
        #expect(pair.acknowledged.count == 4)
        Self.expectSound(pair)

        // The backup's process is gone: the primary stops waiting for its acks at once.
        pair.restart(0)
        pair.connect()
        pair.stabilize()
        #expect(pair.nodes[1].core.backupInSync)
        pair.crash(0)
        let proposed = pair.propose(1)
        #expect(proposed)
        pair.fsync(1)
        #expect(pair.acknowledged.count == 4, "the write waits for the in-sync backup")
        pair.peerRefused(1)
        pair.fsync(1)
        #expect(pair.acknowledged.count == 5, "committed alone once the backup is known gone")
        #expect(!pair.nodes[1].core.backupInSync)
        Self.expectSound(pair)
        pair.expectTranscript()
    }

    @Test func aRefusedSyncPortDoesNotPromoteABackupThatWasCatchingUp() {
        let pair = PairSimulation()
        pair.connect()
        pair.stabilize()
        pair.disconnect()
        pair.tick(0, times: 5)
        pair.propose(0)
        pair.fsync(0)
        pair.crash(0)
        pair.peerRefused(1)
        #expect(pair.nodes[1].core.role == .backup)
        #expect(pair.nodes[1].core.standbyReason?.contains("will not promote") == true)
        Self.expectSound(pair)
        pair.expectTranscript()
    }

    @Test func aBackupThatWasCatchingUpDoesNotPromote() {
        let pair = PairSimulation()
        pair.connect()
        pair.stabilize()
        pair.disconnect()
        pair.tick(0, times: 5)
        for _ in 0..<3 { pair.propose(0) }
        pair.fsync(0)
        #expect(pair.acknowledged.count == 3, "written while the backup was away")
        pair.crash(0)
        pair.tick(1, times: 20)
        #expect(pair.nodes[1].core.role == .backup)
        #expect(pair.nodes[1].core.standbyReason?.contains("will not promote") == true)
        Self.expectSound(pair)
        pair.expectTranscript()
    }

    @Test func aPausedPrimaryStepsDownAndAnswersNothingAfterThePromotion() {
        let pair = Self.syncedPair()
        pair.pause(0)
        pair.tick(1, times: 5)
        #expect(pair.nodes[1].core.role == .primary)
        pair.resume(0)
        let accepted = pair.propose(0)
        #expect(accepted, "the old primary does not know yet")
        pair.fsync(0)
        pair.tick(0)
        pair.stabilize()
        #expect(pair.nodes[0].core.role == .backup)
        #expect(!pair.acknowledged.values.contains("v3"))
        #expect(pair.nodes[0].cutAside.contains { PairSimulation.value($0) == "v3" }, "what was cut is kept")
        #expect(pair.values(inLogOf: 0) == pair.values(inLogOf: 1))
        Self.expectSound(pair)
        pair.expectTranscript()
    }

    @Test func catchUpComesInBatchesAndEndsInSync() {
        let pair = PairSimulation(batchBytes: 8)
        pair.connect()
        pair.stabilize()
        pair.disconnect()
        pair.tick(0, times: 5)
        for _ in 0..<20 { pair.propose(0) }
        pair.fsync(0)
        pair.connect()
        var appends = 0
        while !pair.links[0].isEmpty || !pair.links[1].isEmpty {
            if case .sync(.append(let append)) = pair.links[0].first, !append.records.isEmpty { appends += 1 }
            pair.deliver(from: 0)
            pair.fsync(1)
            pair.deliver(from: 1)
        }
        pair.tick(0)
        pair.stabilize()
        #expect(appends > 3, "catch-up came in \(appends) batches")
        #expect(pair.nodes[0].core.backupInSync)
        #expect(pair.values(inLogOf: 1) == pair.values(inLogOf: 0))
        Self.expectSound(pair)
        pair.expectTranscript()
    }

    @Test func forcingAPromotionSaysWhatIsCut() {
        let pair = Self.syncedPair()
        pair.crash(1)
        pair.tick(0, times: 5)
        pair.propose(0)
        pair.fsync(0)
        pair.crash(0)
        pair.restart(1)
        pair.tick(1, times: 20)
        #expect(pair.nodes[1].core.role == .waiting, "alone after a restart, a tracker waits")
        pair.forcePromote(1)
        pair.propose(1)
        pair.fsync(1)
        pair.restart(0)
        pair.connect()
        pair.stabilize()
        #expect(pair.nodes[0].core.role == .backup)
        #expect(pair.nodes[0].cutAside.contains { PairSimulation.value($0) == "v3" })
        #expect(pair.values(inLogOf: 0) == ["v0", "v1", "v2", "v4"])
        pair.expectTranscript()
    }

    @Test func aTrackerWhoseDiskFailsLeavesThePairAndTheOtherTakesOver() {
        let pair = Self.syncedPair()
        pair.diskFails(0)
        #expect(pair.nodes[0].driver.halted)
        #expect(!pair.connected, "the failed tracker closes the connection")
        pair.propose(0)
        #expect(pair.acknowledged.count == 3, "a write there is refused")
        pair.tick(1, times: 5)
        #expect(pair.nodes[1].core.role == .primary)
        pair.propose(1)
        pair.stabilize()
        #expect(pair.acknowledged.count == 4)
        pair.connect()
        #expect(!pair.connected, "until it is restarted, it closes every connection")
        pair.crash(0)
        pair.restart(0)
        pair.connect()
        pair.stabilize()
        #expect(pair.nodes[0].core.role == .backup)
        #expect(pair.values(inLogOf: 0) == pair.values(inLogOf: 1))
        Self.expectSound(pair)
        pair.expectTranscript()
    }

    /// Found in review: a primary whose epoch's entries never reached its own disk, while its backup persisted
    /// entries of that epoch, must not take the same epoch again when forced after a restart; two different
    /// entries would then share an (epoch, seq) and the logs could never agree. (The driver sends nothing in an
    /// epoch before the epoch file holds it, so the file is what remembers.)
    @Test func aRestartedNodeNeverTakesAnEpochItHasSeen() {
        let pair = PairSimulation()
        pair.connect()
        pair.stabilize()
        let taken = pair.nodes[0].core.epoch
        pair.propose(0)
        pair.deliver(from: 0)
        pair.fsync(1)
        pair.crash(0)
        pair.crash(1)
        pair.nodes[0].memory.contents.records.removeAll { $0.epoch == taken }
        pair.restart(0)
        pair.forcePromote(0)
        #expect(pair.nodes[0].core.epoch > taken)
        pair.propose(0)
        pair.fsync(0)
        pair.restart(1)
        pair.connect()
        pair.stabilize()
        for _ in 0..<5 {
            pair.tick(0)
            pair.tick(1)
            pair.stabilize()
        }
        #expect(pair.values(inLogOf: 0) == pair.values(inLogOf: 1))
        pair.expectTranscript()
    }

    @Test func aSwitchoverHandsThePrimaryRoleToTheInSyncBackupAndLosesNothing() {
        let pair = Self.syncedPair()
        #expect(pair.switchover(1) == false, "only the primary hands over")
        #expect(pair.switchover(0))
        #expect(pair.nodes[0].core.role == .waiting, "the backup holds everything: told at once, and stepped down")
        #expect(pair.switchover(0) == false)
        pair.stabilize()
        #expect(pair.nodes[1].core.role == .primary)
        #expect(pair.nodes[0].core.role == .backup)
        pair.propose(1)
        pair.stabilize()
        #expect(pair.nodes[1].core.backupInSync, "the old primary is the new one's backup, in sync")
        #expect(pair.acknowledged.values.sorted() == ["v0", "v1", "v2", "v3"])
        #expect(pair.values(inLogOf: 0) == pair.values(inLogOf: 1))
        pair.expectTranscript()
    }

    @Test func aSwitchoverWaitsUntilTheBackupHoldsEveryWriteAndRefusesNewOnesMeanwhile() {
        let pair = Self.syncedPair()
        pair.propose(0)
        #expect(pair.switchover(0))
        #expect(pair.nodes[0].core.role == .primary, "the backup lacks v3 yet")
        pair.propose(0)
        #expect(pair.transcript.last?.contains("answers v4: this tracker is handing the primary role over") == true)
        pair.stabilize()
        #expect(pair.nodes[1].core.role == .primary)
        #expect(pair.nodes[0].core.role == .backup)
        #expect(pair.acknowledged.values.sorted() == ["v0", "v1", "v2", "v3"], "v3 committed before the hand-over")
        #expect(pair.values(inLogOf: 0) == pair.values(inLogOf: 1))
        pair.expectTranscript()
    }

    @Test func aSwitchoverWhoseBackupGoesSilentEndsAndThePrimaryGoesOn() {
        let pair = Self.syncedPair()
        pair.propose(0)
        #expect(pair.switchover(0))
        pair.crash(1)
        pair.tick(0, times: 12)
        #expect(pair.nodes[0].core.role == .primary)
        #expect(!pair.nodes[0].core.isHandingOver)
        #expect(pair.nodes[0].core.lastHandOverFailure == "the other tracker went silent")
        pair.propose(0)
        pair.stabilize()
        #expect(pair.acknowledged.values.sorted() == ["v0", "v1", "v2", "v3", "v4"], "it takes writes again")
        pair.expectTranscript()
    }

    @Test func aSwitchoverIsRefusedWhileTheBackupCatchesUp() {
        let pair = Self.syncedPair()
        pair.crash(1)
        pair.tick(0, times: 12)
        pair.propose(0)
        pair.stabilize()
        #expect(pair.switchover(0) == false, "the backup is gone, so not in sync")
        pair.expectTranscript()
    }
}
