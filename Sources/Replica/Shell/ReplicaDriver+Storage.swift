import Logging
import ReplicaCore

/// What the storage reports, fed to the core in the order it happened.
extension ReplicaDriver {
    /// One report from the storage.
    public func handle(_ event: StorageEvent<Machine>) {
        switch event {
        case .epochSaved(let epoch):
            self.epochSaved(epoch)
        case .persisted(let position):
            self.carryOut(self.core.persisted(through: position))
        case .writeFailed(let position, let error):
            // The storage drops what was submitted after these records; later appends are of a new generation.
            self.generation += 1
            var outcomes = self.abandonProposers(after: position.seq - 1, with: error)
            outcomes += self.execute(self.core.persistFailed(at: position, log: self.reader))
            self.publish()
            Self.complete(outcomes)
        case .stopped(let error):
            self.halt(error)
        case .rebuilt(let machine, let seq):
            self.applied.replace(machine, seq: seq)
            self.pendingRebuilds -= 1
            // A later cut asked for another rebuild: this state is not the one to build on yet.
            guard self.pendingRebuilds == 0 else { return }
            // What committed while the storage rebuilt is applied now, on the rebuilt state.
            var outcomes = self.apply(through: self.core.appliedSeq)
            outcomes += self.releaseAnswered()
            self.publish()
            Self.complete(outcomes)
            if self.snapshotAfterRebuild { self.handle(.snapshotDue) }
        case .snapshotDue:
            // The state is stale until rebuilt: the snapshot is taken after.
            guard self.pendingRebuilds == 0 else { return self.snapshotAfterRebuild = true }
            self.snapshotAfterRebuild = false
            let (machine, seq) = self.applied.mutate { machine, seq in (machine, seq) }
            let epoch = self.core.history.epoch(of: seq) ?? 0
            self.submit([.writeSnapshot(machine, epoch: epoch, seq: seq)])
        case .snapshotWritten(let seq):
            self.reader.firstSeq = max(self.reader.firstSeq, seq + 1)
        case .received(let snapshot):
            self.received(snapshot)
        case .installed(let machine, let position):
            // The snapshot replaced the whole log: nothing from before waits to be applied.
            self.unapplied = []
            self.applied.replace(machine, seq: position.seq)
            self.reader.firstSeq = position.seq + 1
            self.reader.reset()
            self.observer.fullSyncInstalled()
            self.carryOut(self.core.snapshotInstalled(at: position))
            self.releaseHeld()
        }
    }
}
