/// What a tracker accepts from a connection (`limits` in `cluster.yaml`).
public struct LimitsConfig: Hashable, Sendable {
    /// The largest binary frame in bytes; a longer one is refused before it is buffered. Default 16MiB.
    public var maxFrame: Int
    /// The longest text line in bytes. Default 64KiB.
    public var maxLine: Int
    /// How many client connections a tracker holds at once. Default 1024.
    public var maxConnections: Int
    /// How many of them may come from one address. Default 256.
    public var maxConnectionsPerAddress: Int
    /// How long a client connection may stay silent before the tracker closes it. Default 300s.
    public var idleTimeout: Duration
    /// How many bytes of client input all connections together may hold beyond a small allowance each (unfinished
    /// frames, queued requests); a connection that needs more waits, not read, until some is given back.
    /// Default 256MiB.
    public var maxBufferedInput: Int

    /// Creates the section; the defaults are those of an absent `limits` section.
    public init(
        maxFrame: Int = 16 << 20, maxLine: Int = 64 << 10, maxConnections: Int = 1024,
        maxConnectionsPerAddress: Int = 256, idleTimeout: Duration = .seconds(300), maxBufferedInput: Int = 256 << 20
    ) {
        self.maxFrame = maxFrame
        self.maxLine = maxLine
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.idleTimeout = idleTimeout
        self.maxBufferedInput = maxBufferedInput
    }
}
