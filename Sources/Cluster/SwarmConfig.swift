/// How peer daemons download (`swarm` in `cluster.yaml`).
public struct SwarmConfig: Hashable, Sendable {
    /// A peer with requests in flight that sends nothing for this long is dropped. Default 10s.
    public var peerTimeout: Duration
    /// How many bytes of piece requests a downloader keeps in flight per peer at most (each connection sizes its
    /// pipeline by its round trip, up to this). Default 8MiB.
    public var inFlight: Int
    /// How many connections a peer daemon serves at once; more are refused. Default 256.
    public var maxPeers: Int
    /// How many of them may come from one address. Default 64.
    public var maxPeersPerAddress: Int

    /// Creates the section; the defaults are those of an absent `swarm` section.
    public init(
        peerTimeout: Duration = .seconds(10), inFlight: Int = 8 << 20, maxPeers: Int = 256,
        maxPeersPerAddress: Int = 64
    ) {
        self.peerTimeout = peerTimeout
        self.inFlight = inFlight
        self.maxPeers = maxPeers
        self.maxPeersPerAddress = maxPeersPerAddress
    }
}
