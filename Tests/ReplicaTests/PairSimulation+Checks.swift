import Foundation
import NIOCore
import ReplicaCore
import Testing

@testable import Replica

/// What must hold after every step, and the transcript: each step and what the drivers did, one line each.
extension PairSimulation {
    /// The newest primary holds every acknowledged write where it was acknowledged; each node's state is its
    /// log's values up to what it applied (once the disk work it asked for is done). Nil when both hold.
    func checkInvariants() -> String? {
        if let violation = self.violations.first { return violation }
        // A paused primary acknowledges nothing, and steps down at its first tick after it resumes; until then
        // it can commit only what its backup acknowledged before taking over, which the new primary holds.
        let primaries = self.nodes.filter { $0.up && !$0.stalled && !$0.driver.halted && $0.core.role == .primary }
        if let newest = primaries.max(by: { $0.core.epoch < $1.core.epoch }) {
            let snapshot = newest.snapshot
            // The log is worked out once (it replays the disk's queue), not once per acknowledged write.
            let log = Dictionary(newest.log.map { ($0.seq, $0) }) { _, last in last }
            for (position, value) in self.acknowledged {
                // What the snapshot covers is only in its values; what follows must be in the log, in place.
                if position.seq <= snapshot.position.seq {
                    guard snapshot.values.contains(value) else {
                        return "primary \(newest.index)'s snapshot lacks acknowledged \(value)"
                    }
                    continue
                }
                guard let record = log[position.seq], record.epoch == position.epoch,
                    Self.value(record) == value
                else { return "primary \(newest.index) lacks acknowledged \(value) at \(position)" }
            }
        }
        // A node whose storage is rebuilding or replacing its state shows the state before until it reports.
        for node in self.nodes where node.up && node.driver.pendingRebuilds == 0 && !node.driver.installing {
            let snapshot = node.snapshot
            let applied = node.appliedSeq
            guard applied >= snapshot.position.seq else {
                return "node \(node.index) applied through \(applied), behind its snapshot at \(snapshot.position)"
            }
            let expected =
                snapshot.values + node.log.filter { $0.seq <= applied }.compactMap(Self.value)
            if node.values != expected { return "node \(node.index) applied \(node.values), its log says \(expected)" }
        }
        return nil
    }

    /// Compares the transcript with `testdata/<name>.txt` (by default the test's name); a difference fails the
    /// test and shows it. `TANDEM_REWRITE=1` writes the transcript there instead.
    func expectTranscript(
        named name: String = #function, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let name = name.hasSuffix("()") ? String(name.dropLast(2)) : name
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("testdata/\(name).txt")
        let actual = self.transcript.joined(separator: "\n") + "\n"
        if ProcessInfo.processInfo.environment["TANDEM_REWRITE"] == "1" {
            #expect(throws: Never.self, sourceLocation: sourceLocation) {
                try actual.write(to: file, atomically: true, encoding: .utf8)
            }
            return
        }
        guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
            Issue.record(
                "no transcript at \(file.path): run TANDEM_REWRITE=1 swift test --filter \(name)",
                sourceLocation: sourceLocation)
            return
        }
        guard expected != actual else { return }
        let diff = Self.diff(from: expected, to: actual)
        Issue.record(
            "the transcript differs from \(file.path) (- committed, + now; TANDEM_REWRITE=1 rewrites it):\n\(diff)",
            sourceLocation: sourceLocation)
    }

    /// The lines removed from `old` and added in `new`, with their line numbers.
    static func diff(from old: String, to new: String) -> String {
        let changes = new.split(separator: "\n").difference(from: old.split(separator: "\n"))
        var lines: [(offset: Int, text: String)] = []
        for change in changes {
            switch change {
            case .remove(let offset, let line, _): lines.append((offset, "-\(offset + 1): \(line)"))
            case .insert(let offset, let line, _): lines.append((offset, "+\(offset + 1): \(line)"))
            }
        }
        return lines.sorted { $0.offset < $1.offset }.prefix(200).map(\.text).joined(separator: "\n")
    }

    // MARK: Describing

    static func describe(_ packet: Packet) -> String {
        switch packet {
        case .sync(let message): Self.describe(message)
        case .forward(let frame): "forward(\(frame))"
        case .snapshot(let bytes): "snapshot file (\(bytes.readableBytes) bytes)"
        }
    }

    static func describe(_ message: SyncMessage) -> String {
        switch message {
        case .hello(let hello): "hello(\(hello.role) e\(hello.epoch) at \(hello.position))"
        case .append(let append):
            "append(e\(append.epoch) after \(append.previous) \(append.records.map(\.seq)) commit \(append.commitSeq)"
                + "\(append.backupInSync ? " in-sync" : ""))"
        case .ack(let epoch, let position, _, let number): "ack(e\(epoch) \(position) #\(number))"
        case .mismatch(let epoch, let position, let start): "mismatch(e\(epoch) \(position) from \(start))"
        case .truncate(let epoch, let seq): "truncate(e\(epoch) after \(seq))"
        case .snapshotFollows(let epoch, let position): "snapshot-follows(e\(epoch) \(position))"
        case .requestVote(let candidate): "request-vote(e\(candidate.epoch) at \(candidate.position))"
        case .vote(let granted, let voter): "vote(\(granted ? "yes" : "no") e\(voter.epoch) at \(voter.position))"
        case .takeOver(let epoch, let through): "take-over(e\(epoch) through \(through))"
        }
    }

    static func describe(_ work: StorageWork<ValueLog>) -> String {
        switch work {
        case .saveEpoch(let epoch): "save epoch \(epoch)"
        case .cut(let seq, let dropSnapshots): "cut after \(seq)\(dropSnapshots ? " and the snapshot" : "")"
        case .append(let records, _): "append \(records.map { LogPosition(epoch: $0.epoch, seq: $0.seq) })"
        case .rebuild: "rebuild the state"
        case .writeSnapshot(_, let epoch, let seq): "write a snapshot at \(LogPosition(epoch: epoch, seq: seq))"
        case .beginReceiving(let epoch): "receive a snapshot from epoch \(epoch)"
        case .receive(let bytes): "\(bytes.readableBytes) snapshot bytes"
        case .abandonReceiving: "abandon the snapshot being received"
        case .endReceiving: "check the snapshot received"
        case .install(let snapshot): "install the snapshot at \(snapshot.position)"
        case .discard(let snapshot): "discard the snapshot at \(snapshot.position)"
        }
    }

    static func describe(_ event: StorageEvent<ValueLog>) -> String {
        switch event {
        case .epochSaved(let epoch): "epoch \(epoch) saved"
        case .persisted(let position): "persisted through \(position)"
        case .writeFailed(let position, let error): "write from \(position) failed: \(error)"
        case .stopped(let error): "stopped: \(error)"
        case .rebuilt(_, let seq): "rebuilt through \(seq)"
        case .snapshotDue: "snapshot due"
        case .snapshotWritten(let seq): "snapshot written at \(seq)"
        case .received(let snapshot): snapshot.map { "received a snapshot at \($0.position)" } ?? "refused a snapshot"
        case .installed(_, let position): "installed the snapshot at \(position)"
        }
    }
}
