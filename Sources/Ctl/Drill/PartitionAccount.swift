/// What a partition did to the writes the cluster acknowledged: for each tracker, what it acknowledged, in which
/// epochs, and what of it was lost; and each cut of a log, with the acknowledged writes it took. Pure: the run
/// reads the logs and the final state.
struct PartitionAccount {
    /// Every write, each sent to one tracker.
    let writes: [DrillWrite]
    /// The epoch each group was created in, from both trackers' logs as they stood before the link came back.
    let epochs: [String: UInt64]
    /// The groups the primary lists at the end.
    let readBack: Set<String>
    /// The logs cut since the fault.
    let cuts: [OpLogScan.Cut]

    private var acknowledged: [DrillWrite] { self.writes.filter { $0.outcome == .acknowledged } }

    /// The acknowledged writes the primary does not have at the end.
    var lost: [DrillWrite] { self.acknowledged.filter { !self.readBack.contains($0.name) } }

    /// The account as printed.
    var lines: [String] {
        var lines: [String] = []
        let byTracker = Dictionary(grouping: self.acknowledged) { $0.tracker ?? "?" }
        for tracker in byTracker.keys.sorted() {
            let writes = byTracker[tracker] ?? []
            let lost = writes.filter { !self.readBack.contains($0.name) }
            lines.append(
                "\(tracker) acknowledged \(writes.count) writes (\(Self.epochs(of: writes, self.epochs))): "
                    + "\(writes.count - lost.count) kept, \(lost.count) lost"
                    + (lost.isEmpty ? "" : " (\(Self.epochs(of: lost, self.epochs)))"))
        }
        for cut in self.cuts {
            let lostThere = self.lost.filter { $0.tracker == cut.tracker }.count
            lines.append(
                "\(cut.tracker)'s log was cut from seq \(cut.fromSeq) on (\(cut.ops) ops) when it rejoined the newer "
                    + "primary, and kept in its data_dir as \(cut.file); \(lostThere) of them were acknowledged writes")
        }
        let acknowledged = self.acknowledged.count
        lines.append(
            "loss check: \(acknowledged - self.lost.count) of \(acknowledged) acknowledged writes are in the cluster; "
                + "\(self.lost.count) lost")
        for write in self.lost.prefix(10) {
            lines.append("  lost: \(write.name), acknowledged by \(write.tracker ?? "?")")
        }
        return lines
    }

    /// `epoch 2: 40, epoch 3: 12`, and `epoch unknown: N` for writes seen in neither log.
    private static func epochs(of writes: [DrillWrite], _ epochs: [String: UInt64]) -> String {
        let counts = Dictionary(grouping: writes) { epochs[$0.name] }.mapValues(\.count)
        let known = counts.compactMap { epoch, count in epoch.map { ($0, count) } }.sorted { $0.0 < $1.0 }
        let parts = known.map { "epoch \($0.0): \($0.1)" } + (counts[nil].map { ["epoch unknown: \($0)"] } ?? [])
        return parts.joined(separator: ", ")
    }
}
