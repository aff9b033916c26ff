import Foundation
import Replica
import ReplicaCore
import Testing

@testable import Node

/// The Prometheus text of a tracker's status.
@Suite struct MetricsTextTests {
    static func status(role: ReplicaRole, backupMatch: UInt64?, inSync: Bool) -> ReplicaStatus {
        ReplicaStatus(
            role: role, epoch: 4, last: LogPosition(epoch: 4, seq: 90), durableSeq: 90, commitSeq: 88, appliedSeq: 88,
            peerConnected: backupMatch != nil, backupMatch: backupMatch, backupInSync: inSync,
            backupLagBytes: backupMatch.map { _ in 640 }, standbyReason: nil, roleSince: Date(timeIntervalSince1970: 0))
    }

    @Test func aPrimaryWithItsBackupInSyncReportsItsLag() {
        let text = MetricsText.render(Self.status(role: .primary, backupMatch: 85, inSync: true), tracker: "t1")
        let samples = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(samples.contains("tandem_replica_role{tracker=\"t1\",role=\"primary\"} 1"))
        #expect(samples.contains("tandem_replica_role{tracker=\"t1\",role=\"backup\"} 0"))
        #expect(samples.contains("tandem_replica_epoch{tracker=\"t1\"} 4"))
        #expect(samples.contains("tandem_replica_applied_seq{tracker=\"t1\"} 88"))
        #expect(samples.contains("tandem_replica_backup_in_sync{tracker=\"t1\"} 1"))
        #expect(samples.contains("tandem_replica_serving_alone{tracker=\"t1\"} 0"))
        #expect(samples.contains("tandem_replica_backup_lag_ops{tracker=\"t1\"} 5"))
        #expect(samples.contains("tandem_replica_backup_lag_bytes{tracker=\"t1\"} 640"))
        #expect(text.contains("# TYPE tandem_replica_role gauge\n"))
        #expect(text.hasSuffix("\n"))
    }

    @Test func aPrimaryWithoutABackupSaysItServesAlone() {
        let text = MetricsText.render(Self.status(role: .primary, backupMatch: nil, inSync: false), tracker: "t2")
        #expect(text.contains("tandem_replica_serving_alone{tracker=\"t2\"} 1\n"))
        #expect(!text.contains("backup_lag_ops"))
    }

    @Test func aBackupReportsNoBackupFigures() {
        let text = MetricsText.render(Self.status(role: .backup, backupMatch: nil, inSync: false), tracker: "t2")
        #expect(text.contains("tandem_replica_role{tracker=\"t2\",role=\"backup\"} 1\n"))
        #expect(!text.contains("serving_alone") && !text.contains("backup_in_sync"))
    }
}
