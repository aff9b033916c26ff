import Foundation
import ReplicaCore

/// What one tracker is in the pair, for `tandemctl status`.
public struct ReplicaStatus: Sendable {
    /// Primary, backup or waiting.
    public var role: ReplicaRole
    /// The highest epoch this tracker knows.
    public var epoch: UInt64
    /// Where its log ends.
    public var last: LogPosition
    /// The last entry on its disk.
    public var durableSeq: UInt64
    /// Primary: acknowledged up to here. Backup: the primary's commit point as last heard.
    public var commitSeq: UInt64
    /// Applied up to here.
    public var appliedSeq: UInt64
    /// Whether a sync connection to the other tracker is up.
    public var peerConnected: Bool
    /// Primary: where the backup's log is known to match (nil without a backup).
    public var backupMatch: UInt64?
    /// Primary: whether the backup is in sync (commits wait for it).
    public var backupInSync: Bool
    /// Primary: the bytes of the log records the backup does not hold yet; nil without a backup, or when they
    /// go back further than this tracker has counted (before it started, or more than 2^20 records).
    public var backupLagBytes: UInt64?
    /// Why a tracker that is not primary takes no writes, when there is more to say than "backup".
    public var standbyReason: String?
    /// When the role last changed.
    public var roleSince: Date
    /// Backup: whether the primary counts it in sync, as last heard: it takes over if the primary goes silent.
    public var countedInSync = false
    /// Primary: whether it is handing its role to the backup (a switchover).
    public var handingOver = false
    /// Why the last switchover begun on this tracker ended without one; nil when none did.
    public var lastHandOverFailure: String?

    /// A status with every field given.
    public init(
        role: ReplicaRole, epoch: UInt64, last: LogPosition, durableSeq: UInt64, commitSeq: UInt64,
        appliedSeq: UInt64, peerConnected: Bool, backupMatch: UInt64?, backupInSync: Bool, backupLagBytes: UInt64?,
        standbyReason: String?, roleSince: Date
    ) {
        self.role = role
        self.epoch = epoch
        self.last = last
        self.durableSeq = durableSeq
        self.commitSeq = commitSeq
        self.appliedSeq = appliedSeq
        self.peerConnected = peerConnected
        self.backupMatch = backupMatch
        self.backupInSync = backupInSync
        self.backupLagBytes = backupLagBytes
        self.standbyReason = standbyReason
        self.roleSince = roleSince
    }
}
