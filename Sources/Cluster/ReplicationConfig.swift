/// How the primary and the backup watch each other (`replication` in `cluster.yaml`).
public struct ReplicationConfig: Hashable, Sendable {
    /// How often the primary tells the backup it is alive. Default 100ms.
    public var heartbeat: Duration
    /// How long the backup waits on a silent primary before promoting itself; longer than ``heartbeat``.
    /// Default 1s.
    public var failoverTimeout: Duration

    /// Creates the section; the defaults are those of an absent `replication` section.
    public init(heartbeat: Duration = .milliseconds(100), failoverTimeout: Duration = .seconds(1)) {
        self.heartbeat = heartbeat
        self.failoverTimeout = failoverTimeout
    }
}
