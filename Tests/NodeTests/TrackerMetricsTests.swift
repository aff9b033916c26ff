import Foundation
import Replica
import ReplicaCore
import Testing
import Wire

@testable import Node

/// A tracker's metrics as Prometheus reads them: the replica's state and the open connections.
@Suite struct TrackerMetricsTests {
    static func status(role: ReplicaRole, backupMatch: UInt64?, inSync: Bool) -> ReplicaStatus {
        ReplicaStatus(
            role: role, epoch: 4, last: LogPosition(epoch: 4, seq: 90), durableSeq: 90, commitSeq: 88, appliedSeq: 88,
            peerConnected: backupMatch != nil, backupMatch: backupMatch, backupInSync: inSync,
            backupLagBytes: backupMatch.map { _ in 640 }, standbyReason: nil, roleSince: Date(timeIntervalSince1970: 0))
    }

    /// The samples of `text`, without the HELP and TYPE lines.
    static func samples(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init))
    }

    @Test func aPrimaryWithItsBackupInSyncReportsItsLag() {
        let text = TrackerMetrics(tracker: "t1").render(Self.status(role: .primary, backupMatch: 85, inSync: true))
        let samples = Self.samples(text)
        #expect(samples.contains("tandem_replica_role{tracker=\"t1\",role=\"primary\"} 1.0"), "\(text)")
        #expect(samples.contains("tandem_replica_role{tracker=\"t1\",role=\"backup\"} 0.0"))
        #expect(samples.contains("tandem_replica_epoch{tracker=\"t1\"} 4.0"))
        #expect(samples.contains("tandem_replica_applied_seq{tracker=\"t1\"} 88.0"))
        #expect(samples.contains("tandem_replica_backup_in_sync{tracker=\"t1\"} 1.0"))
        #expect(samples.contains("tandem_replica_serving_alone{tracker=\"t1\"} 0.0"))
        #expect(samples.contains("tandem_replica_backup_lag_ops{tracker=\"t1\"} 5.0"))
        #expect(samples.contains("tandem_replica_backup_lag_bytes{tracker=\"t1\"} 640.0"))
        #expect(text.contains("# TYPE tandem_replica_role gauge\n"))
    }

    @Test func aPrimaryWithoutABackupSaysItServesAloneAndABackupHasNoLag() {
        let metrics = TrackerMetrics(tracker: "t2")
        let alone = Self.samples(metrics.render(Self.status(role: .primary, backupMatch: nil, inSync: false)))
        #expect(alone.contains("tandem_replica_serving_alone{tracker=\"t2\"} 1.0"))
        let backup = Self.samples(metrics.render(Self.status(role: .backup, backupMatch: nil, inSync: false)))
        #expect(backup.contains("tandem_replica_role{tracker=\"t2\",role=\"backup\"} 1.0"))
        #expect(backup.contains("tandem_replica_role{tracker=\"t2\",role=\"primary\"} 0.0"))
        #expect(backup.contains("tandem_replica_serving_alone{tracker=\"t2\"} 0.0"))
        #expect(backup.contains("tandem_replica_backup_lag_ops{tracker=\"t2\"} 0.0"))
    }

    @Test func openConnectionsAreCounted() {
        let metrics = TrackerMetrics(tracker: "t1")
        metrics.connectionOpened()
        metrics.connectionOpened()
        metrics.connectionClosed()
        let samples = Self.samples(metrics.render(Self.status(role: .primary, backupMatch: nil, inSync: false)))
        #expect(samples.contains("tandem_client_connections{tracker=\"t1\"} 1.0"))
        #expect(metrics.tally.statusFields.first { $0.name == "clients" }?.value == "1")
    }

    @Test func statusTotalsFollowRequestsAndWalBatches() {
        let metrics = TrackerMetrics(tracker: "t1")
        metrics.served(.listGroups, .groups([]), after: .microseconds(40))
        metrics.served(.whoami, .error(.notLoggedIn, "log in first"), after: .microseconds(30))
        metrics.replica.walBatchWritten(3, 300, .microseconds(100))
        metrics.replica.walBatchWritten(1, 100, .microseconds(300))
        let fields = Dictionary(uniqueKeysWithValues: metrics.tally.statusFields.map { ($0.name, $0.value) })
        #expect(fields["requests"] == "2")
        #expect(fields["request_errors"] == "1")
        #expect(fields["wal_batches"] == "2")
        #expect(fields["wal_ops_per_batch"] == "2.0")
        #expect(fields["wal_write_avg_us"] == "200")
        let samples = Self.samples(metrics.render(Self.status(role: .primary, backupMatch: nil, inSync: false)))
        #expect(
            samples.contains(
                "tandem_client_requests_total{tracker=\"t1\",command=\"WHOAMI\",result=\"not_logged_in\"} 1"))
        #expect(samples.contains("tandem_wal_batch_ops_sum{tracker=\"t1\"} 4.0"))
    }
}
