import Foundation
import Logging
import NIOCore
import ReplicaCore
import SystemPackage

/// FULLSYNC on the receiving side, on the writer thread: the primary's snapshot is written to a temporary file
/// as it comes, checked and decoded once whole, and installed in place of the state and the log when the
/// driver says so.
extension DiskStorage {
    var incomingPath: String { self.directory.path + "/snapshot-incoming.tmp" }

    func beginReceiving(epoch: UInt64) {
        self.discardIncoming()
        let path = self.incomingPath
        do throws(ReplicaError) {
            let fd = try PosixFile.io("open", path) {
                try FileDescriptor.open(
                    path, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: [.ownerReadWrite])
            }
            self.incoming = IncomingSnapshot(fd: fd, path: path, epoch: epoch)
        } catch {
            self.logger.error("cannot take the primary's snapshot", metadata: ["error": "\(error)"])
        }
    }

    func receive(_ bytes: ByteBuffer) {
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

    /// Syncs, reads back and decodes the snapshot received; nil (logged) when it is not whole and sound.
    func endReceiving() -> ReceivedSnapshot<Machine>? {
        guard let incoming = self.incoming else { return nil }
        self.incoming = nil
        defer { try? incoming.fd.close() }
        do {
            guard !incoming.failed else { throw ReplicaError.io("write", path: incoming.path, errno: EIO) }
            try PosixFile.io("fsync", incoming.path) { try incoming.fd.sync() }
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
            return ReceivedSnapshot(
                senderEpoch: incoming.epoch, position: LogPosition(epoch: file.epoch, seq: file.seq), machine: machine,
                path: incoming.path)
        } catch {
            self.logger.error("refused the primary's snapshot", metadata: ["error": "\(error)"])
            unlink(incoming.path)
            return nil
        }
    }

    /// Replaces the log and the snapshots with `snapshot`.
    func install(_ snapshot: ReceivedSnapshot<Machine>) throws(ReplicaError) {
        let seq = snapshot.position.seq
        try DurableMark.lower(to: seq, in: self.directory)
        for segment in try self.directory.segments() { unlink(self.directory.segmentPath(firstSeq: segment)) }
        for old in try self.directory.snapshots() { unlink(self.directory.snapshotPath(seq: old)) }
        guard rename(snapshot.path, self.directory.snapshotPath(seq: seq)) == 0 else {
            throw .io("rename", path: snapshot.path, errno: errno)
        }
        try self.reopenLog(after: seq)
        self.opsSinceSnapshot = 0
        self.bytesSinceSnapshot = 0
        self.logger.notice("installed the primary's snapshot (FULLSYNC)", metadata: ["at": "\(snapshot.position)"])
        self.report(.installed(snapshot.machine, at: snapshot.position))
    }

    func discardIncoming() {
        guard let incoming = self.incoming else { return }
        try? incoming.fd.close()
        unlink(incoming.path)
        self.incoming = nil
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
