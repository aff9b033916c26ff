import Prometheus
import Replica
import ReplicaCore
import Synchronization
import Wire

/// A tracker's metrics, in a registry of swift-prometheus of its own: requests by command and result with their
/// latency, the WAL's batches and `fdatasync`s, promotions and FULLSYNCs, and the open client connections,
/// counted as they happen; the replica's state, read from its status when scraped.
final class TrackerMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let tracker: String
    /// Open client connections.
    private let connections: Gauge
    /// The totals `STATUS` shows.
    let tally = TrackerTally()
    /// The replica's reports, into this registry.
    let replica: ReplicaObserver
    /// Each command's meters, as made so far.
    private let commands = Mutex<[String: CommandMeters]>([:])

    private struct CommandMeters {
        let latency: DurationHistogram
        var results: [String: Counter] = [:]
    }

    /// Request latency buckets: from a read answered at once to a write waiting for two disks and the backup.
    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]
    /// WAL batch sizes, in ops: group commit makes them grow with the writers.
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]

    init(tracker: String) {
        self.tracker = tracker
        let labels = [("tracker", tracker)]
        self.connections = self.registry.makeGauge(
            descriptor: Self.name("client", "connections", "Client connections open now."), labels: labels)
        let fsyncs = self.registry.makeDurationHistogram(
            descriptor: Self.name("wal", "write_seconds", "Time to write and fdatasync one batch of WAL records."),
            labels: labels, buckets: Self.latencyBuckets)
        let batches = self.registry.makeValueHistogram(
            descriptor: Self.name("wal", "batch_ops", "WAL records written with one write and one fdatasync."),
            labels: labels, buckets: Self.batchBuckets)
        let bytes = self.registry.makeCounter(
            descriptor: Self.name("wal", "written_bytes_total", "Bytes of WAL records written."), labels: labels)
        let promotions = self.registry.makeCounter(
            descriptor: Self.name("replica", "became_primary_total", "Times this tracker took the primary role."),
            labels: labels)
        let sent = self.registry.makeCounter(
            descriptor: Self.name("replica", "fullsyncs_sent_total", "FULLSYNC snapshots sent to the other tracker."),
            labels: labels)
        let installed = self.registry.makeCounter(
            descriptor: Self.name(
                "replica", "fullsyncs_installed_total", "FULLSYNC snapshots from the other tracker installed here."),
            labels: labels)
        let tally = self.tally
        self.replica = ReplicaObserver(
            walBatchWritten: { ops, count, duration in
                fsyncs.record(duration)
                batches.record(Double(ops))
                bytes.increment(by: Int64(count))
                tally.walBatches.add(1, ordering: .relaxed)
                tally.walOps.add(ops, ordering: .relaxed)
                let (seconds, attoseconds) = duration.components
                tally.walWriteNanoseconds.add(
                    Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000), ordering: .relaxed)
            },
            becamePrimary: { promotions.increment() }, fullSyncSent: { sent.increment() },
            fullSyncInstalled: { installed.increment() })
    }

    /// Counts `request`, answered `reply` after `duration`.
    func served(_ request: Request, _ reply: Reply, after duration: Duration) {
        let result = if case .error(let code, _) = reply { code.rawValue } else { "ok" }
        let (latency, count) = self.meters(request.command, result)
        latency.record(duration)
        count.increment()
        self.tally.requests.add(1, ordering: .relaxed)
        if result != "ok" { self.tally.requestErrors.add(1, ordering: .relaxed) }
    }

    /// A client connection opened.
    func connectionOpened() {
        self.connections.increment()
        self.tally.clients.add(1, ordering: .relaxed)
    }

    /// A client connection closed.
    func connectionClosed() {
        self.connections.decrement()
        self.tally.clients.subtract(1, ordering: .relaxed)
    }

    /// A command's latency histogram and its counter for `result`, made the first time they are needed and
    /// kept: the registry checks names and labels each time it is asked, too slow for every request.
    private func meters(_ command: String, _ result: String) -> (DurationHistogram, Counter) {
        self.commands.withLock { commands in
            let latency =
                commands[command]?.latency
                ?? self.registry.makeDurationHistogram(
                    descriptor: Self.name(
                        "client", "request_seconds", "Time from taking a request to its reply being ready, by command."),
                    labels: [("tracker", self.tracker), ("command", command)], buckets: Self.latencyBuckets)
            if let count = commands[command]?.results[result] { return (latency, count) }
            let count = self.registry.makeCounter(
                descriptor: Self.name("client", "requests_total", "Requests answered, by command and result."),
                labels: [("tracker", self.tracker), ("command", command), ("result", result)])
            commands[command, default: CommandMeters(latency: latency)].results[result] = count
            return (latency, count)
        }
    }

    /// The metrics in the Prometheus text format, the replica's taken from `status` now.
    func render(_ status: ReplicaStatus) -> String {
        for role in [ReplicaRole.primary, .backup, .waiting] {
            self.replica("role", "1 for the role held, 0 for the others.", role: role)
                .set(Int64(status.role == role ? 1 : 0))
        }
        self.replica("epoch", "The epoch this tracker is in.").set(Int64(status.epoch))
        self.replica("last_seq", "The seq of the last op in this tracker's log.").set(Int64(status.last.seq))
        self.replica("durable_seq", "The last seq fsynced here.").set(Int64(status.durableSeq))
        self.replica("commit_seq", "The last seq known committed.").set(Int64(status.commitSeq))
        self.replica("applied_seq", "The last seq applied to the state.").set(Int64(status.appliedSeq))
        self.replica("peer_connected", "1 while the sync connection to the other tracker is up.")
            .set(Int64(status.peerConnected ? 1 : 0))
        let primary = status.role == .primary
        self.replica("backup_in_sync", "1 while this primary's writes wait for the backup; 0 otherwise.")
            .set(Int64(primary && status.backupInSync ? 1 : 0))
        let alone = primary && (status.backupMatch == nil || !status.backupInSync)
        self.replica("serving_alone", "1 while this primary acknowledges writes without a backup in sync; 0 otherwise.")
            .set(Int64(alone ? 1 : 0))
        let lagOps = primary ? status.backupMatch.map { status.last.seq - min($0, status.last.seq) } : nil
        self.replica("backup_lag_ops", "Ops of this primary's log the backup is not known to hold.")
            .set(Int64(lagOps ?? 0))
        self.replica("backup_lag_bytes", "Bytes of this primary's log the backup is not known to hold.")
            .set(Int64(primary ? status.backupLagBytes ?? 0 : 0))
        return self.registry.emitToString()
    }

    /// The gauge `tandem_replica_<name>` of this tracker (and `role`, for the role gauge).
    private func replica(_ name: String, _ help: String, role: ReplicaRole? = nil) -> Gauge {
        let labels = [("tracker", self.tracker)] + (role.map { [("role", "\($0)")] } ?? [])
        return self.registry.makeGauge(descriptor: Self.name("replica", name, help), labels: labels)
    }

    private static func name(_ subsystem: String, _ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "tandem", subsystem: subsystem, metricName: name, unitName: "", helpText: help)
    }
}
