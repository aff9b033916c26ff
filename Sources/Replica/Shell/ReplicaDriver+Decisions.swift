import Foundation
import Logging
import NIOCore
import ReplicaCore

/// Carrying out what the core decided, in the order of ``ReplicaReady``: disk work for the storage, messages for
/// the other tracker, ops applied to the machine, proposers answered.
extension ReplicaDriver {
    /// Carries out `ready` in its order; returns the proposers to answer.
    func execute(_ ready: ReplicaReady) -> [Outcome] {
        var outcomes: [Outcome] = []
        var disk: [StorageWork<Machine>] = []
        if let epoch = ready.persistEpoch {
            disk.append(.saveEpoch(epoch))
            self.savingEpoch = epoch
        }
        if let seq = ready.truncateAfter {
            let dropSnapshots = seq + 1 < self.reader.firstSeq
            disk.append(.cut(after: seq, dropSnapshots: dropSnapshots))
            if dropSnapshots { self.reader.firstSeq = 1 }
            self.reader.reset()
            self.lag.reset()
            self.unapplied.removeAll { $0.seq > seq }
            outcomes += self.abandonProposers(after: seq, with: .steppedDown)
        }
        if ready.rebuildState {
            disk.append(.rebuild)
            self.pendingRebuilds += 1
        }
        if !ready.persist.isEmpty {
            disk.append(.append(ready.persist, generation: self.generation))
            self.unapplied += ready.persist
            if self.core.role == .primary { self.lag.appended(ready.persist) }
        }
        if let match = self.core.backupMatch { self.lag.forget(through: match) }
        if !disk.isEmpty { self.submit(disk) }
        self.send(ready.messages)
        if let seq = ready.applyThrough {
            outcomes += self.apply(through: seq)
            outcomes += self.releaseAnswered()
        }
        if ready.sendSnapshot { self.streamSnapshot() }
        if let seq = ready.abandonAfter { outcomes += self.abandonProposers(after: seq, with: .steppedDown) }
        if let role = ready.newRole {
            self.roleSince = Date()
            self.lag.reset()
            if role == .primary {
                self.observer.becamePrimary()
                // A backup that took over after the primary went silent may still hold the link it forwarded
                // writes on: their clients are answered now rather than when that link is found dead.
                outcomes += self.settleForwards()
            }
            self.logger.notice(
                "replica role changed",
                metadata: [
                    "replica.role": "\(role)", "replica.epoch": "\(self.core.epoch)",
                    "replica.position": "\(self.core.last)",
                ])
        }
        self.noteServingAlone()
        return outcomes
    }

    /// Logs when a primary starts acknowledging writes without a backup in sync, and when one is in sync again.
    private func noteServingAlone() {
        let alone = self.core.role == .primary && !self.core.backupInSync
        guard alone != self.servingAlone else { return }
        self.servingAlone = alone
        if alone {
            self.logger.warning("no backup in sync: this primary acknowledges writes alone until one catches up")
        } else if self.core.role == .primary {
            self.logger.notice("the backup is in sync: writes wait for its acknowledgement again")
        }
    }

    func abandonProposers(after seq: UInt64, with error: ReplicaError) -> [Outcome] {
        let abandoned = self.proposers.keys.filter { $0 > seq }.sorted()
        return abandoned.compactMap { self.proposers.removeValue(forKey: $0) }.map { ($0.completion, .failure(error)) }
    }

    /// Applies the unapplied entries up to `seq` to the machine; nothing while the state is being rebuilt (the
    /// entries wait, and are applied once it is).
    func apply(through seq: UInt64) -> [Outcome] {
        if self.pendingRebuilds > 0 { return [] }
        let count = self.unapplied.prefix { $0.seq <= seq }.count
        guard count > 0 else { return [] }
        var outcomes: [Outcome] = []
        self.applied.mutate { machine, appliedSeq in
            for record in self.unapplied.prefix(count) {
                defer { appliedSeq = record.seq }
                if let proposer = self.proposers.removeValue(forKey: record.seq) {
                    outcomes.append((proposer.completion, .success(machine.apply(proposer.op))))
                    continue
                }
                // An empty record marks the start of an epoch and changes nothing.
                guard record.payload.readableBytes > 0 else { continue }
                var payload = record.payload
                do {
                    _ = machine.apply(try Machine.decodeOp(from: &payload))
                } catch {
                    self.logger.error("an op from the log does not decode", metadata: ["replica.seq": "\(record.seq)"])
                }
            }
        }
        self.unapplied.removeFirst(count)
        return outcomes
    }

    /// The forwarded writes whose entries this tracker has applied: their clients read them here from now on.
    func releaseAnswered() -> [Outcome] {
        if self.pendingRebuilds > 0 { return [] }
        let applied = self.core.appliedSeq
        let released = self.answered.filter { $0.seq <= applied }
        self.answered.removeAll { $0.seq <= applied }
        return released.map { ($0.completion, .success($0.output)) }
    }

    /// Tells each proposer its outcome: promises grouped into one task per event loop (at once on the driver's),
    /// forwarded writes answered over the link.
    static func complete(_ outcomes: [Outcome]) {
        if outcomes.isEmpty { return }
        var byLoop:
            [ObjectIdentifier: (
                loop: any EventLoop, items: [(EventLoopPromise<Machine.Output>, Result<Machine.Output, ReplicaError>)]
            )] = [:]
        for (completion, result) in outcomes {
            switch completion {
            case .promise(let promise):
                let loop = promise.futureResult.eventLoop
                byLoop[ObjectIdentifier(loop), default: (loop, [])].items.append((promise, result))
            case .forwarded(let id, let seq, let link):
                switch result {
                case .success(let output):
                    var bytes = ByteBufferAllocator().buffer(capacity: 64)
                    Machine.encode(output, into: &bytes)
                    link.forward(.reply(id: id, seq: seq, output: bytes))
                case .failure(let error):
                    link.forward(.refusal(id: id, reason: error.description))
                }
            }
        }
        for (loop, items) in byLoop.values {
            // On the driver's own loop the promises complete now; another loop gets one task for all of its.
            if loop.inEventLoop {
                for (promise, result) in items { promise.completeWith(result.mapError { $0 }) }
                continue
            }
            loop.execute {
                for (promise, result) in items { promise.completeWith(result.mapError { $0 }) }
            }
        }
    }
}
