import Prometheus
import Replica
import ReplicaCore

/// A tracker's metrics, in a registry of swift-prometheus of its own: the open client connections, counted as
/// they come and go, and the replica's state, read from its status when scraped.
final class TrackerMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let tracker: String
    /// Open client connections.
    let connections: Gauge

    init(tracker: String) {
        self.tracker = tracker
        self.connections = self.registry.makeGauge(
            descriptor: Self.name("client", "connections", "Client connections open now."),
            labels: [("tracker", tracker)])
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
