import ReplicaCore

/// The shell's connection to the other tracker, as the replica sees it.
///
/// Every call only queues its work: they are made on the driver's event loop, and must not block.
public protocol SyncLink: AnyObject, Sendable {
    /// Sends `messages`, in order; they are dropped if the connection has closed.
    func send(_ messages: [SyncMessage])

    /// Sends a forwarded write, or the primary's answer to one.
    func forward(_ frame: ForwardFrame)

    /// Streams the snapshot file at `path` (FULLSYNC): a ``SyncMessage/snapshotFollows(epoch:position:)`` in
    /// `epoch`, the file's bytes in chunks, and its end; then calls `done` with the snapshot's position, or nil
    /// if the stream broke off.
    func sendSnapshot(path: String, epoch: UInt64, done: @escaping @Sendable (LogPosition?) -> Void)

    /// Closes the connection.
    func close()
}
