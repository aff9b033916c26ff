/// One tracker of the pair, as `cluster.yaml` lists it under `trackers`.
public struct TrackerConfig: Hashable, Sendable {
    /// The tracker's name (`t1`): letters, digits, `-` and `_`, unique in the cluster.
    public var id: String
    /// The host name or address clients and the other tracker connect to.
    public var host: String
    /// The port serving clients, binary and text.
    public var clientPort: Int
    /// The port the other tracker replicates over.
    public var syncPort: Int
    /// The absolute directory holding the tracker's WAL and snapshots.
    public var dataDir: String

    /// Creates a tracker entry; `dataDir` should be absolute.
    public init(id: String, host: String, clientPort: Int, syncPort: Int, dataDir: String) {
        self.id = id
        self.host = host
        self.clientPort = clientPort
        self.syncPort = syncPort
        self.dataDir = dataDir
    }
}
