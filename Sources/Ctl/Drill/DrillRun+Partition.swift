import Cluster
import Foundation
import TrackerClient

extension DrillRun {
    /// Cuts the sync link for `length` under writers pinned to each tracker, then heals it, waits for the pair
    /// to settle, and accounts for every acknowledged write: which tracker took it, in which epoch, and whether
    /// a cut of a log took it.
    func partition(_ length: Duration, oneWay: Bool) async throws -> DrillReport {
        let trackers = self.context.config.trackers
        try SyncPartition.check(trackers)
        let secret = try self.context.config.readSecret()
        let (primary, backup) = try await self.readyPair()
        let cut = SyncPartition(from: primary, to: backup, oneWay: oneWay)
        if cut.isPresent(through: self.hosts) { try cut.heal(through: self.hosts) }

        let (user, token) = try await self.drillUser()
        let load = DrillLoad(
            context: self.context, token: token, prefix: user, writers: max(2, self.writers),
            pinned: [primary, backup])
        let loadTask = Task { await load.run() }
        defer { load.stop() }  // A drill that fails midway must not leave its writers running.
        await self.waitUntil { load.acknowledgedCount >= 2 ? true : nil }

        let faultDate = Date()
        let faultAt = ContinuousClock.now
        try cut.cut(through: self.hosts)
        // Nor the link cut: the rules come off on every way out, not only after the account.
        defer { if cut.isPresent(through: self.hosts) { try? cut.heal(through: self.hosts) } }
        var events = [DrillEvent(at: faultAt, what: "fault: the sync link cut \(cut.description)")]
        var missed: [String] = []
        if let promoted = await self.waitFor(
            until: faultAt + length, kind: .promotion, { await self.promotion(of: backup) })
        {
            events.append(promoted)
        }
        if let alone = await self.waitFor(until: faultAt + length, { await self.servingAlone(primary) }) {
            events.append(alone)
        }
        try? await Task.sleep(until: faultAt + length)
        // The writers stop before the link comes back, so every acknowledged write is in a log read now.
        load.stop()
        await loadTask.value
        var epochs: [String: UInt64] = [:]
        for tracker in [primary, backup] {
            let scan = try await OpLogScan.read(tracker, context: self.context, secret: secret, cutSince: faultDate)
            epochs.merge(scan.createdIn) { kept, _ in kept }
        }
        try cut.heal(through: self.hosts)
        let cutFor = (ContinuousClock.now - faultAt).components
        let milliseconds = cutFor.seconds * 1000 + cutFor.attoseconds / 1_000_000_000_000_000
        events.append(DrillEvent(at: .now, what: "the link is back, after \(milliseconds) ms cut"))
        if let settled = await self.waitFor({ await self.settled(trackers) }) {
            events.append(settled)
        } else {
            missed.append("the pair settling with a backup in sync")
        }

        let (readFrom, names) = try await self.readBack(token: token, trackers: trackers)
        var cuts: [OpLogScan.Cut] = []
        for tracker in trackers {
            cuts += try await OpLogScan.read(tracker, context: self.context, secret: secret, cutSince: faultDate).cuts
        }
        var report = DrillReport(
            fault: faultAt, events: events, writes: load.writes, readBack: names, readFrom: readFrom, missed: missed)
        report.partition = PartitionAccount(writes: load.writes, epochs: epochs, readBack: names, cuts: cuts)
        report.cleanUp = await self.dissolve(names, of: user, token: token)
        return report
    }

    /// Says when `tracker`, the primary, acknowledges writes without its backup in sync.
    private func servingAlone(_ tracker: TrackerConfig) async -> String? {
        guard let status = await self.status(of: tracker), status["role"] == "primary",
            status["backup"] != "in_sync"
        else { return nil }
        return
            "\(tracker.id) acknowledges writes alone (epoch \(status["epoch"] ?? "?"), backup \(status["backup"] ?? "?"))"
    }

    /// Says when one tracker is primary with the other in sync.
    private func settled(_ trackers: [TrackerConfig]) async -> String? {
        for tracker in trackers {
            guard let status = await self.status(of: tracker), status["role"] == "primary",
                status["backup"] == "in_sync"
            else { continue }
            return "\(tracker.id) is primary (epoch \(status["epoch"] ?? "?")) with its backup in sync"
        }
        return nil
    }
}
