import ReplicaCore
import Foundation
import Logging
import NIOCore

/// What comes from the other tracker besides the core's messages: writes forwarded by the backup, and the
/// FULLSYNC stream; and what the primary streams.
extension ReplicatedStateMachine {
    /// A write forwarded by the backup (this tracker proposes it), or the primary's answer to one of ours.
    public func receiveForwarded(_ frame: ForwardFrame) {
        let outcomes = self.driver.withLock { () -> [Outcome] in
            switch frame {
            case .request(let id, let payload):
                guard let link = self.link else { return [] }
                var bytes = payload
                guard let op = try? Machine.decodeOp(from: &bytes) else {
                    link.forward(.refusal(id: id, reason: "the forwarded op does not decode"))
                    return []
                }
                guard let (records, ready) = self.core.propose([payload]) else {
                    let error = ReplicaError.notPrimary(role: self.core.role, reason: self.core.standbyReason)
                    link.forward(.refusal(id: id, reason: error.description))
                    return []
                }
                let seq = records[0].seq
                self.proposers[seq] = (op, .forwarded(id: id, seq: seq, link: link))
                return self.execute(ready)
            case .reply(let id, let seq, let output):
                guard let completion = self.forwards.removeValue(forKey: id) else { return [] }
                var bytes = output
                guard let output = try? Machine.decodeOutput(from: &bytes) else {
                    return [(completion, .failure(.refusedByPrimary("its answer does not decode")))]
                }
                self.answered.append((seq, completion, output))
                return self.releaseAnswered()
            case .refusal(let id, let reason):
                guard let completion = self.forwards.removeValue(forKey: id) else { return [] }
                return [(completion, .failure(.refusedByPrimary(reason)))]
            }
        }
        Self.complete(outcomes)
    }

    /// The forwarded writes whose entries this tracker has applied: their clients read them here from now on.
    func releaseAnswered() -> [Outcome] {
        let applied = self.core.appliedSeq
        let released = self.answered.filter { $0.seq <= applied }
        self.answered.removeAll { $0.seq <= applied }
        return released.map { ($0.completion, .success($0.output)) }
    }

    /// The next bytes of the snapshot the primary streams (FULLSYNC).
    public func receiveSnapshotBytes(_ bytes: ByteBuffer) {
        self.driver.withLock {
            guard var incoming = self.incoming, !incoming.failed else { return }
            do throws(ReplicaError) {
                try PosixFile.writeAll(incoming.fd, bytes, path: incoming.path)
                incoming.bytes += bytes.readableBytes
            } catch {
                self.logger.error("cannot write the primary's snapshot", metadata: ["error": "\(error)"])
                incoming.failed = true
            }
            self.incoming = incoming
        }
    }

    /// The snapshot stream ended: checks it and, if this tracker still follows its sender and lacks what it
    /// holds, replaces the state and the log with it. Returns once that is done (the caller reads no more
    /// messages meanwhile, so none is taken against the old log).
    public func receiveSnapshotEnd() {
        guard
            let incoming = self.driver.withLock({ () -> IncomingSnapshot? in
                defer { self.incoming = nil }
                return self.incoming
            })
        else { return }
        let synced = fsync(incoming.fd) == 0
        Foundation.close(incoming.fd)
        do {
            guard synced, !incoming.failed else { throw ReplicaError.io("fsync", path: incoming.path, errno: errno) }
            let received = ContinuousClock.now
            let file = try SnapshotFile.decode(try PosixFile.readAll(incoming.path), path: incoming.path)
            var payload = file.payload
            let machine = try Machine.decodeSnapshot(from: &payload)
            let decoded = ContinuousClock.now
            self.logger.notice(
                "received the primary's snapshot (FULLSYNC)",
                metadata: [
                    "bytes": "\(incoming.bytes)", "receive_ms": "\(Self.milliseconds(received - incoming.started))",
                    "decode_ms": "\(Self.milliseconds(decoded - received))",
                ])
            let position = LogPosition(epoch: file.epoch, seq: file.seq)
            let accepted = self.driver.withLock { self.core.acceptsSnapshot(from: incoming.epoch, at: position) }
            guard accepted else {
                unlink(incoming.path)
                return
            }
            let done = DispatchSemaphore(value: 0)
            self.queueWork([.install(file, machine, from: incoming.path, done: done)])
            done.wait()
        } catch {
            self.logger.error("refused the primary's snapshot", metadata: ["error": "\(error)"])
            unlink(incoming.path)
        }
    }

    func discardIncoming() {
        guard let incoming = self.incoming else { return }
        Foundation.close(incoming.fd)
        unlink(incoming.path)
        self.incoming = nil
    }

    /// Streams the newest snapshot to the other tracker (FULLSYNC); catch-up goes on once it is sent.
    func streamSnapshot() {
        guard let link = self.link, let newest = try? self.directory.snapshots().last else { return }
        self.logger.notice("sending a snapshot to the other tracker (FULLSYNC)", metadata: ["at_seq": "\(newest)"])
        link.sendSnapshot(path: self.directory.snapshotPath(seq: newest), epoch: self.core.epoch) { position in
            guard let position else { return }
            self.drive { core, reader in core.snapshotSent(at: position, log: reader) }
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
