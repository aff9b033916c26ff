import Prometheus
import Replica
import ReplicaCore
import Wire

/// A tracker's metrics, in a registry of swift-prometheus: requests by command and result with their latency,
/// open client connections, and the replica's state, read from its status when scraped.
final class TrackerMetrics: Sendable {
    /// The latency buckets of a request, from a read served from memory to a write that waited for two fsyncs.
    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .seconds(1),
    ]

    private let registry = PrometheusCollectorRegistry()
    private let tracker: String
    /// Open client connections.
    let connections: Gauge
    /// Each command's count of `ok` answers and its latency, made once: the path every request takes looks them
    /// up without the registry's lock. Refusals, rarer, go through the registry.
    private let series: [String: (answered: Counter, latency: DurationHistogram)]

    init(tracker: String) {
        self.tracker = tracker
        self.connections = self.registry.makeGauge(
            name: "tandem_client_connections", labels: [("tracker", tracker)], help: "Client connections open now.")
        var series: [String: (Counter, DurationHistogram)] = [:]
        for command in Request.commandNames {
            series[command] = (
                Self.requests(in: self.registry, tracker: tracker, command: command, result: "ok"),
                self.registry.makeDurationHistogram(
                    name: "tandem_request_duration_seconds", labels: [("tracker", tracker), ("command", command)],
                    buckets: Self.latencyBuckets, help: "From taking a request up to having its reply.")
            )
        }
        self.series = series
    }

    /// Counts one request answered with `reply`, `latency` after it was taken up.
    func served(_ request: Request, reply: Reply, latency: Duration) {
        let command = request.commandName
        guard let series = self.series[command] else { return }
        if case .error = reply {
            Self.requests(in: self.registry, tracker: self.tracker, command: command, result: reply.resultName)
                .increment()
        } else {
            series.answered.increment()
        }
        series.latency.record(latency)
    }

    private static func requests(
        in registry: PrometheusCollectorRegistry, tracker: String, command: String, result: String
    ) -> Counter {
        registry.makeCounter(
            name: "tandem_requests_total", labels: [("tracker", tracker), ("command", command), ("result", result)],
            help: "Client requests answered, by command and result (ok or the error code).")
    }

    /// The metrics in the Prometheus text format, the replica's taken from `status` now.
    func render(_ status: ReplicaStatus) -> String {
        let label = [("tracker", self.tracker)]
        for role in [ReplicaRole.primary, .backup, .waiting] {
            self.gauge("tandem_replica_role", label + [("role", "\(role)")], "1 for the role held, 0 for the others.")
                .set(Int64(status.role == role ? 1 : 0))
        }
        self.gauge("tandem_replica_epoch", label, "The epoch this tracker is in.").set(Int64(status.epoch))
        self.gauge("tandem_replica_last_seq", label, "The seq of the last op in this tracker's log.")
            .set(Int64(status.last.seq))
        self.gauge("tandem_replica_durable_seq", label, "The last seq fsynced here.").set(Int64(status.durableSeq))
        self.gauge("tandem_replica_commit_seq", label, "The last seq known committed.").set(Int64(status.commitSeq))
        self.gauge("tandem_replica_applied_seq", label, "The last seq applied to the state.")
            .set(Int64(status.appliedSeq))
        self.gauge("tandem_replica_peer_connected", label, "1 while the sync connection to the other tracker is up.")
            .set(Int64(status.peerConnected ? 1 : 0))
        let primary = status.role == .primary
        self.gauge(
            "tandem_replica_backup_in_sync", label, "1 while this primary's writes wait for the backup; 0 otherwise."
        ).set(Int64(primary && status.backupInSync ? 1 : 0))
        self.gauge(
            "tandem_replica_serving_alone", label,
            "1 while this primary acknowledges writes without a backup in sync; 0 otherwise."
        ).set(Int64(primary && (status.backupMatch == nil || !status.backupInSync) ? 1 : 0))
        let lagOps = primary ? status.backupMatch.map { status.last.seq - min($0, status.last.seq) } : nil
        self.gauge("tandem_replica_backup_lag_ops", label, "Ops of this primary's log the backup is not known to hold.")
            .set(Int64(lagOps ?? 0))
        self.gauge(
            "tandem_replica_backup_lag_bytes", label, "Bytes of this primary's log the backup is not known to hold."
        ).set(Int64(primary ? status.backupLagBytes ?? 0 : 0))
        return self.registry.emitToString()
    }

    private func gauge(_ name: String, _ labels: [(String, String)], _ help: String) -> Gauge {
        self.registry.makeGauge(name: name, labels: labels, help: help)
    }
}
