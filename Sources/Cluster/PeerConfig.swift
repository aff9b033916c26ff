/// A peer daemon that a deploy runs, as `cluster.yaml` lists it under `peers`: `tandemd peer` as the system user
/// `user` of `host`, its home `/var/lib/tandem/peers/<user>`. Users run their own daemons without this; it is for
/// hosts that seed for the team (a build server, a seedbox).
public struct PeerConfig: Hashable, Sendable {
    /// The host the daemon runs on and serves pieces from.
    public var host: String
    /// The system account that runs it, created by the deploy when missing; a Tandem account logs in as it.
    public var user: String
    /// The port it serves pieces on; nil picks a free one at each start.
    public var port: Int?
    /// The port it serves Prometheus metrics on; nil serves none.
    public var metricsPort: Int?

    /// Creates a peer entry.
    public init(host: String, user: String, port: Int? = nil, metricsPort: Int? = nil) {
        self.host = host
        self.user = user
        self.port = port
        self.metricsPort = metricsPort
    }
}
