import ReplicaCore

/// What went wrong in the replica's storage; each says what to do in its ``description``.
public struct ReplicaError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case io(operation: String, path: String, errno: Int32)
        case corruptRecord(path: String, offset: Int, detail: String)
        case corruptSnapshot(path: String, detail: String)
        case damagedFile(path: String, meaning: String)
        case gap(path: String, expected: UInt64, found: UInt64)
        case lostDurableOps(directory: String, end: UInt64, durable: UInt64, lastFile: String?, offset: Int)
        case tornTooFar(path: String, offset: Int, bytes: Int, limit: Int)
        case locked(path: String)
        case closed
        case undecodable(path: String, seq: UInt64, detail: String)
        case notPrimary(role: ReplicaRole, reason: String?)
        case switchoverRefused(String)
        case forwardedAnswerUnreadable
        case steppedDown
        case refusedByPrimary(String)
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    /// A system call on the data directory failed.
    public static func io(_ operation: String, path: String, errno: Int32) -> ReplicaError {
        ReplicaError(.io(operation: operation, path: path, errno: errno))
    }
    /// A WAL record before the end of the log failed its checksum or framing.
    public static func corruptRecord(path: String, offset: Int, detail: String) -> ReplicaError {
        ReplicaError(.corruptRecord(path: path, offset: offset, detail: detail))
    }
    /// A snapshot file failed its checksum or framing.
    public static func corruptSnapshot(path: String, detail: String) -> ReplicaError {
        ReplicaError(.corruptSnapshot(path: path, detail: detail))
    }
    /// A small state file (the epoch, the durable mark) failed its checksum.
    public static func damagedFile(path: String, meaning: String) -> ReplicaError {
        ReplicaError(.damagedFile(path: path, meaning: meaning))
    }
    /// The log skips sequence numbers.
    public static func gap(path: String, expected: UInt64, found: UInt64) -> ReplicaError {
        ReplicaError(.gap(path: path, expected: expected, found: found))
    }
    /// The log ends at seq `end`, before `durable`, which the writer recorded as synced: acknowledged ops are gone.
    /// `offset` is where the whole records of `lastFile`, its last segment, end.
    public static func lostDurableOps(
        directory: String, end: UInt64, durable: UInt64, lastFile: String?, offset: Int
    ) -> ReplicaError {
        ReplicaError(
            .lostDurableOps(directory: directory, end: end, durable: durable, lastFile: lastFile, offset: offset))
    }
    /// More bytes after the last whole record are damaged than one unsynced write can leave.
    public static func tornTooFar(path: String, offset: Int, bytes: Int, limit: Int) -> ReplicaError {
        ReplicaError(.tornTooFar(path: path, offset: offset, bytes: bytes, limit: limit))
    }
    /// Another process holds the data directory.
    public static func locked(path: String) -> ReplicaError { ReplicaError(.locked(path: path)) }
    /// The store was closed; no more writes are taken.
    public static let closed = ReplicaError(.closed)
    /// A record's checksum was good but the state machine could not decode its op.
    public static func undecodable(path: String, seq: UInt64, detail: String) -> ReplicaError {
        ReplicaError(.undecodable(path: path, seq: seq, detail: detail))
    }

    /// This tracker is not the primary, so it takes no writes; `reason` says why when it is not a plain backup.
    public static func notPrimary(role: ReplicaRole, reason: String?) -> ReplicaError {
        ReplicaError(.notPrimary(role: role, reason: reason))
    }
    /// The primary logged a write this tracker forwarded, but its answer does not decode: the write happened, so
    /// it must not be retried as if refused.
    public static let forwardedAnswerUnreadable = ReplicaError(.forwardedAnswerUnreadable)
    /// A switchover could not begin, for `reason`.
    public static func switchoverRefused(_ reason: String) -> ReplicaError { ReplicaError(.switchoverRefused(reason)) }
    /// This tracker stopped being primary before the write was acknowledged; the new primary may or may not
    /// have it, so the client retries there (its request id makes the retry safe).
    public static let steppedDown = ReplicaError(.steppedDown)

    /// The primary did not log a write this tracker forwarded to it, for `reason`.
    public static func refusedByPrimary(_ reason: String) -> ReplicaError { ReplicaError(.refusedByPrimary(reason)) }

    /// Whether the write was refused because this tracker is not the primary (or stopped being it), or the
    /// primary it forwards to refused it (it is handing over, or stopping, or takes no write from this version):
    /// the write was not applied, and a retry, on this tracker or the other, finds the primary once there is one
    /// again.
    public var isNotPrimary: Bool {
        switch self.base {
        case .notPrimary, .steppedDown, .refusedByPrimary: true
        default: false
        }
    }

    /// Whether a file was not there (it was removed, by a trim behind a snapshot say).
    public var isMissingFile: Bool {
        if case .io(_, _, let code) = self.base { return code == 2 }
        return false
    }

    /// Whether this is a full disk (ENOSPC or EDQUOT), which an operator can fix by freeing space.
    public var isDiskFull: Bool {
        if case .io(_, _, let code) = self.base { return code == 28 || code == 122 }
        return false
    }

    public var description: String {
        switch self.base {
        case .io(let operation, let path, let code):
            let reason = String(cString: strerror(code))
            return "\(operation) \(path) failed: \(reason) (errno \(code)); "
                + "check the disk and the data_dir's permissions"
        case .corruptRecord(let path, let offset, let detail):
            return "corrupt WAL record in \(path) at byte \(offset): \(detail); the log is damaged before its end, "
                + "so start-up stops rather than skip it: restore the data_dir from the other tracker or a backup"
        case .corruptSnapshot(let path, let detail):
            return "corrupt snapshot \(path): \(detail); the older snapshots and the WAL it covers were deleted "
                + "once it was written, so restore the data_dir from the other tracker or a backup"
        case .damagedFile(let path, let meaning):
            return "\(path), \(meaning), is damaged (its checksum fails); start-up stops rather than guess it: "
                + "restore the data_dir from the other tracker or a backup"
        case .gap(let path, let expected, let found):
            return "WAL \(path) jumps from seq \(expected - 1) to \(found); a segment is missing: restore the data_dir"
        case .lostDurableOps(let directory, let end, let durable, let lastFile, let offset):
            let ending =
                lastFile.map { "its last file, \($0), ends at seq \(end) at byte \(offset)" } ?? "it ends at seq \(end)"
            return "the log in \(directory) lost acknowledged ops: \(ending), but every op through seq \(durable) was "
                + "synced (recorded in \(directory)/durable), so \(durable - end) are missing, to a truncated file or a "
                + "deleted segment, not a crash; start-up stops rather than lose them: restore the data_dir from a "
                + "backup, or, in a pair, move it away and restart this tracker to take a full copy of the other's"
        case .tornTooFar(let path, let offset, let bytes, let limit):
            return "\(bytes) bytes of \(path) from byte \(offset) on are damaged, more than the \(limit) a crash can "
                + "tear off the last write; the log was damaged, so start-up stops rather than cut it: restore the "
                + "data_dir from a backup, or, in a pair, move it away and restart this tracker to take a full copy of "
                + "the other's"
        case .locked(let path):
            return "\(path) is in use by another tandemd; stop it first or give this tracker its own data_dir"
        case .closed:
            return "the tracker is shutting down; retry against the other tracker"
        case .undecodable(let path, let seq, let detail):
            return "op \(seq) in \(path) does not decode (\(detail)); was the log written by a newer Tandem?"
        case .notPrimary(.primary, _):
            return "this tracker is handing the primary role over to the other tracker (a switchover) and takes no "
                + "writes meanwhile; retry in a moment, on either tracker"
        case .notPrimary(.backup, _):
            return "this tracker is the backup and reaches no primary to forward the write to (a failover may be "
                + "under way); retry"
        case .notPrimary(let role, let reason):
            return "this tracker is \(role)" + (reason.map { " (\($0))" } ?? "") + " and no primary takes writes yet; "
                + "retry, or see tandemctl status"
        case .refusedByPrimary(let reason):
            return "the primary did not take the write: \(reason)"
        case .switchoverRefused(let reason):
            return "cannot switch over: \(reason)"
        case .forwardedAnswerUnreadable:
            return "the primary logged the write, but its answer does not decode (do the trackers run different "
                + "versions?); it was applied: check before sending it again"
        case .steppedDown:
            return "this tracker stopped being the primary before the write was acknowledged; retry it on the "
                + "new primary (a retry with the same request id is applied at most once)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
