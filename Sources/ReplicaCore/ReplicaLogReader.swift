/// Read access to the local log, which the core needs to catch a backup up from disk.
public protocol ReplicaLogReader {
    /// The first seq still in the log; entries before it are only in the newest snapshot.
    var firstSeq: UInt64 { get }
    /// The records from `seq` on, up to about `maxBytes` of payload (at least one when there is one).
    func records(from seq: UInt64, maxBytes: Int) -> [LogRecord]
}
