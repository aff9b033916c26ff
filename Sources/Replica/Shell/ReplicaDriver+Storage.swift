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
            self.refusal = error
            self.finishClosing(with: error)
        case .rebuilt(let machine, let seq):
            self.applied.replace(machine, seq: seq)
            self.rebuilding = false
            // What committed while the storage rebuilt is applied now, on the rebuilt state.
            var outcomes = self.apply(through: self.core.appliedSeq)
            outcomes += self.releaseAnswered()
            self.publish()
            Self.complete(outcomes)
            if self.snapshotWanted { self.handle(.snapshotDue) }
        case .snapshotDue:
            // The state is stale until rebuilt: the snapshot is taken after.
            guard !self.rebuilding else { return self.snapshotWanted = true }
            self.snapshotWanted = false
            let (machine, seq) = self.applied.mutate { machine, seq in (machine, seq) }
            let epoch = self.core.history.epoch(of: seq) ?? 0
            self.storage.submit([.writeSnapshot(machine, epoch: epoch, seq: seq)])
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
            self.carryOut(self.core.snapshotInstalled(at: position))
            self.releaseHeld()
        }
    }
}
