import Logging
import NIOCore
import ReplicaCore

/// What comes from the other tracker besides the core's messages: writes forwarded by the backup, and the
/// FULLSYNC stream; and what the primary streams.
extension ReplicaDriver {
    /// A write forwarded by the backup (this tracker proposes it), or the primary's answer to one of ours.
    public func receiveForwarded(_ frame: ForwardFrame) {
        if self.halted || self.hold(.forwarded(frame)) { return }
        switch frame {
        case .request(let id, let payload):
            guard let link = self.link else { return }
            // A closing primary takes no more writes, forwarded ones included.
            if let refusal = self.refusal { return link.forward(.refusal(id: id, reason: refusal.description)) }
            var bytes = payload
            guard let op = try? Machine.decodeOp(from: &bytes) else {
                return link.forward(.refusal(id: id, reason: "the forwarded op does not decode"))
            }
            guard let (records, ready) = self.core.propose([payload]) else {
                let error = ReplicaError.notPrimary(role: self.core.role, reason: self.core.standbyReason)
                return link.forward(.refusal(id: id, reason: error.description))
            }
            let seq = records[0].seq
            self.proposers[seq] = (op, .forwarded(id: id, seq: seq, link: link))
            self.carryOut(ready)
        case .reply(let id, let seq, let output):
            guard let completion = self.forwards.removeValue(forKey: id) else { return }
            var bytes = output
            guard let output = try? Machine.decodeOutput(from: &bytes) else {
                return Self.complete([(completion, .failure(.forwardedAnswerUnreadable))])
            }
            self.answered.append((seq, completion, output))
            Self.complete(self.releaseAnswered())
        case .refusal(let id, let reason):
            guard let completion = self.forwards.removeValue(forKey: id) else { return }
            Self.complete([(completion, .failure(.refusedByPrimary(reason)))])
        }
    }

    /// The next bytes of the snapshot the primary streams (FULLSYNC); dropped unless the stream was accepted.
    public func receiveSnapshotBytes(_ bytes: ByteBuffer) {
        if self.hold(.snapshotBytes(bytes)) { return }
        if self.receiving { self.submit([.receive(bytes)]) }
    }

    /// The snapshot stream ended: the storage checks and decodes it, and the driver decides whether to install
    /// it. Until then, what the primary sends next waits: it follows the snapshot in the log.
    public func receiveSnapshotEnd() {
        if self.hold(.snapshotEnd) { return }
        guard self.receiving else { return }
        self.receiving = false
        self.installing = true
        self.submit([.endReceiving])
    }

    /// The storage has the received snapshot decoded (or refused it): installed if this tracker still follows
    /// its sender and lacks what it holds.
    func received(_ snapshot: ReceivedSnapshot<Machine>?) {
        guard let snapshot else { return self.releaseHeld() }
        guard self.core.acceptsSnapshot(from: snapshot.senderEpoch, at: snapshot.position) else {
            self.submit([.discard(snapshot)])
            return self.releaseHeld()
        }
        self.submit([.install(snapshot)])
    }

    /// Holds `input` while a snapshot is installed; true when held. Past ``maxHeld`` inputs or
    /// ``maxHeldBytes`` of snapshot bytes the connection is dropped: the other tracker will start over.
    func hold(_ input: Held) -> Bool {
        guard self.installing else { return false }
        switch input {
        case .message(.snapshotFollows(_, let position)):
            if let installed = self.receivingAt, position <= installed { self.skippingHeldStream = true }
        case .snapshotBytes where self.skippingHeldStream:
            return true
        case .snapshotEnd where self.skippingHeldStream:
            self.skippingHeldStream = false
            return true
        default:
            break
        }
        if case .snapshotBytes(let bytes) = input { self.heldBytes += bytes.readableBytes }
        guard self.held.count < Self.maxHeld, self.heldBytes <= Self.maxHeldBytes else {
            self.logger.warning("the primary sent too much during a FULLSYNC; dropping the sync connection")
            self.link?.close()
            self.held = []
            self.heldBytes = 0
            return true
        }
        self.held.append(input)
        return true
    }

    /// The install is over: the held inputs are taken, in order.
    func releaseHeld() {
        self.installing = false
        let held = self.held
        self.held = []
        self.heldBytes = 0
        for input in held {
            switch input {
            case .message(let message): self.receive(message)
            case .forwarded(let frame): self.receiveForwarded(frame)
            case .snapshotBytes(let bytes): self.receiveSnapshotBytes(bytes)
            case .snapshotEnd: self.receiveSnapshotEnd()
            }
        }
    }

    /// Streams the newest snapshot to the other tracker (FULLSYNC); catch-up goes on once it is sent.
    func streamSnapshot() {
        if self.savingEpoch != nil { return self.streamAfterEpochSaved = true }
        guard let link = self.link, let path = self.storage.newestSnapshotPath else { return }
        // What was sent before the stream goes out first.
        self.sendPendingMessages()
        self.logger.notice("sending a snapshot to the other tracker (FULLSYNC)", metadata: ["path": "\(path)"])
        self.observer.fullSyncSent()
        let (driver, loop) = (NIOLoopBound(self, eventLoop: self.eventLoop), self.eventLoop)
        link.sendSnapshot(path: path, epoch: self.core.epoch) { position in
            guard let position else { return }
            loop.execute { driver.value.snapshotSent(at: position) }
        }
    }

    /// The whole snapshot went out: catch-up goes on from the log after it.
    func snapshotSent(at position: LogPosition) {
        self.carryOut(self.core.snapshotSent(at: position, log: self.reader))
    }
}
