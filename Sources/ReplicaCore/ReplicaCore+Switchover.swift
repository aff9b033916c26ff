/// A switchover (`tandemctl switchover`): the primary hands its role to the in-sync backup without losing or
/// failing a write. The primary stops taking proposals (clients are told to try again, and do); once every entry
/// of its log is durable on the backup, and so committed, it tells the backup to take over (``SyncMessage/takeOver
/// (epoch:through:)``) and steps down at once, with nothing uncommitted. The backup, holding exactly that log,
/// promotes itself in a new epoch and catches the old primary up as its backup.
///
/// Once told, the backup may be primary at any moment, so the old primary never acknowledges anything in its
/// epoch again: should the backup die before taking over, the pair waits for it (or an operator), as after any
/// failure of the one node that can lead. Before that, a backup that goes silent, or has not caught up within
/// `failoverTicks`, ends the hand-over, and the primary takes proposals again: that backup was never told.
extension ReplicaCore {
    /// Why a switchover cannot begin.
    public enum SwitchoverRefusal: Error, Hashable, Sendable {
        /// Only the primary hands its role over.
        case notPrimary(ReplicaRole)
        /// The backup may lack acknowledged entries: it must be in sync to take over.
        case backupNotInSync
        /// A switchover is under way already.
        case underWay
    }

    /// A hand-over whose backup has not caught up yet.
    struct HandOver: Hashable, Sendable {
        /// Ticks since it began.
        var ticks = 0
    }

    /// Whether this primary is handing its role over.
    public var isHandingOver: Bool { self.handOver != nil }

    /// Begins handing the primary role to the backup.
    public mutating func beginSwitchover() -> Result<ReplicaReady, SwitchoverRefusal> {
        guard self.role == .primary else { return .failure(.notPrimary(self.role)) }
        guard self.handOver == nil else { return .failure(.underWay) }
        guard self.backupInSync, let backup = self.backup, backup.live, !backup.takenForDead else {
            return .failure(.backupNotInSync)
        }
        self.handOver = HandOver()
        self.lastHandOverFailure = nil
        self.standbyReason = "handing the primary role over to the other tracker"
        var ready = ReplicaReady()
        self.handOverIfCaughtUp(into: &ready)
        return .success(ready)
    }

    /// Tells the backup to take over once it holds every entry of this log durably, and steps down.
    mutating func handOverIfCaughtUp(into ready: inout ReplicaReady) {
        guard self.role == .primary, self.handOver != nil, let backup = self.backup, backup.inSync,
            self.durableSeq == self.last.seq, backup.match == self.last.seq
        else { return }
        ready.messages.append(.takeOver(epoch: self.epoch, through: self.last))
        self.stepDown(to: .waiting, into: &ready)
        self.standbyReason = "handed the primary role to the other tracker; following it once it has taken over"
    }

    /// Counts a tick of a hand-over whose backup has not caught up yet; past `failoverTicks` it ends, and this node
    /// goes on as primary.
    mutating func tickHandOver() {
        guard var handOver = self.handOver else { return }
        handOver.ticks += 1
        self.handOver = handOver
        if handOver.ticks >= self.configuration.failoverTicks {
            self.endHandOver(because: "the other tracker did not catch up within the failover timeout")
        }
    }

    /// Ends a hand-over without one: this primary takes proposals again.
    mutating func endHandOver(because reason: String) {
        guard self.handOver != nil else { return }
        self.handOver = nil
        self.standbyReason = nil
        self.lastHandOverFailure = reason
    }

    /// Backup: the primary of `epoch` hands over its log, which ends at `through`. Taken only when this node
    /// follows that primary and holds exactly that log, durably: then no acknowledged entry can be missing.
    mutating func takeOver(
        from epoch: UInt64, through: LogPosition, log: some ReplicaLogReader, into ready: inout ReplicaReady
    ) {
        guard self.role == .backup, epoch == self.epoch, self.matchedEpoch == epoch, self.matchedSeq == through.seq,
            self.last == through, self.durableSeq == through.seq
        else { return }
        let oldPrimary = Hello(
            epoch: epoch, role: .primary, position: through, epochStart: self.epochStart(of: through.seq))
        self.promote(into: &ready)
        // The old primary holds this log up to the marker just added: it is this node's backup from here.
        self.startReplicating(to: oldPrimary, log: log, into: &ready)
        self.sendCatchUp(log: log, into: &ready)
    }
}
