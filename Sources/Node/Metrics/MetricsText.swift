import Replica
import ReplicaCore

/// The tracker's figures in the Prometheus text format (version 0.0.4), from one ``ReplicaStatus``. Pure.
enum MetricsText {
    static func render(_ status: ReplicaStatus, tracker: String) -> String {
        let label = "tracker=\"\(tracker)\""
        var lines: [String] = []
        func gauge(_ name: String, _ help: String, _ samples: [(labels: String, value: UInt64)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) gauge")
            for sample in samples { lines.append("\(name){\(sample.labels)} \(sample.value)") }
        }
        let roles: [ReplicaRole] = [.primary, .backup, .waiting]
        gauge(
            "tandem_replica_role", "1 for the role this tracker holds in the pair, 0 for the others.",
            roles.map { ("\(label),role=\"\($0)\"", status.role == $0 ? 1 : 0) })
        gauge("tandem_replica_epoch", "The epoch this tracker is in.", [(label, status.epoch)])
        gauge("tandem_replica_last_seq", "The seq of the last op in this tracker's log.", [(label, status.last.seq)])
        gauge("tandem_replica_durable_seq", "The last seq fsynced here.", [(label, status.durableSeq)])
        gauge("tandem_replica_commit_seq", "The last seq known committed.", [(label, status.commitSeq)])
        gauge("tandem_replica_applied_seq", "The last seq applied to the state.", [(label, status.appliedSeq)])
        gauge(
            "tandem_replica_peer_connected", "1 while the sync connection to the other tracker is up.",
            [(label, status.peerConnected ? 1 : 0)])
        if status.role == .primary {
            let alone = status.backupMatch == nil || !status.backupInSync
            gauge(
                "tandem_replica_backup_in_sync", "1 while writes wait for the backup's acknowledgement.",
                [(label, status.backupInSync ? 1 : 0)])
            gauge(
                "tandem_replica_serving_alone", "1 while this primary acknowledges writes without a backup in sync.",
                [(label, alone ? 1 : 0)])
            if let match = status.backupMatch {
                gauge(
                    "tandem_replica_backup_lag_ops", "Ops in this log the backup is not known to hold.",
                    [(label, status.last.seq - min(match, status.last.seq))])
                if let bytes = status.backupLagBytes {
                    gauge(
                        "tandem_replica_backup_lag_bytes", "Bytes of log records the backup is not known to hold.",
                        [(label, bytes)])
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
