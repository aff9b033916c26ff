/// Turns the YAML tree of `cluster.yaml` into a ``ClusterConfig``, checking every key on the way.
///
/// Checks run in document order, so the error reported is the first mistake in the file.
struct ClusterConfigParser {
    /// The absolute directory relative paths are resolved against.
    let baseDirectory: String

    static let portRange = 1...65535
    static let pieceSizeRange = (16 << 10)...(16 << 20)
    static let trackerCount = 2

    func parse(root: ConfigNode) throws(ClusterConfigError) -> ClusterConfig {
        let top = try root.mapping(allowed: [
            "cluster", "trackers", "replication", "limits", "storage", "metrics", "swarm", "quotas", "peers",
        ])

        let cluster = try top.required("cluster").mapping(allowed: ["name", "piece_size", "secret_file"])
        let name = try cluster.required("name").name()
        let pieceSizeNode = try cluster.required("piece_size")
        let pieceSize = try pieceSizeNode.size(in: Self.pieceSizeRange)
        guard pieceSize & (pieceSize - 1) == 0 else {
            throw ClusterConfigError.notPowerOfTwo(pieceSizeNode.path, line: pieceSizeNode.valueLine, value: pieceSize)
        }
        let secretFile = ConfigPath.resolve(try cluster.required("secret_file").name(), against: self.baseDirectory)

        let trackers = try self.trackers(top.required("trackers"))
        let replication = try self.replication(top)
        let limits = try self.limits(top)
        let storage = try self.storage(top)
        let metricsPort = try self.metricsPort(top)
        let swarm = try self.swarm(top)
        let quotas = try self.quotas(top)
        let peers = try top.optional("peers").map { node throws(ClusterConfigError) in try self.peers(node) } ?? []

        try PortPlan(trackers: trackers, metricsPort: metricsPort, peers: peers).check()
        return ClusterConfig(
            name: name, pieceSize: pieceSize, secretFile: secretFile, trackers: trackers.map(\.config),
            replication: replication, limits: limits, storage: storage, metricsPort: metricsPort?.port, swarm: swarm,
            quotas: quotas, peers: peers.map(\.config))
    }

    private func peers(_ node: ConfigNode) throws(ClusterConfigError) -> [ParsedPeer] {
        var peers: [ParsedPeer] = []
        for item in try node.sequence() {
            let fields = try item.mapping(allowed: ["host", "user", "port", "metrics_port"])
            let host = try fields.required("host").name()
            let userNode = try fields.required("user")
            let user = try userNode.name()
            // A system account name, as useradd takes it: the unit runs as it and its home is named after it.
            let first = user.unicodeScalars.first.map { ("a"..."z").contains($0) || $0 == "_" } ?? false
            guard first, user.count <= 32,
                user.unicodeScalars.allSatisfy({
                    ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
                })
            else {
                throw ClusterConfigError.badPeerUser(userNode.path, line: userNode.valueLine, user: user)
            }
            if let other = peers.first(where: { $0.config.host == host && $0.config.user == user }) {
                throw ClusterConfigError.duplicatePeer(
                    userNode.path, line: userNode.valueLine, user: user, host: host, otherPath: other.userNode.path)
            }
            let port = fields.optional("port")
            let metricsPort = fields.optional("metrics_port")
            let config = PeerConfig(
                host: host, user: user, port: try port?.integer(in: Self.portRange),
                metricsPort: try metricsPort?.integer(in: Self.portRange))
            peers.append(ParsedPeer(config: config, userNode: userNode, portNode: port, metricsPortNode: metricsPort))
        }
        return peers
    }

    private func quotas(_ top: ConfigMapping) throws(ClusterConfigError) -> QuotasConfig {
        var quotas = QuotasConfig()
        let keys = ["users_per_address_per_hour", "groups_per_user", "files_per_user", "metadata_per_user"]
        guard let section = try top.section("quotas", allowed: keys) else { return quotas }
        let counts = 1...1_000_000_000
        if let node = section.optional("users_per_address_per_hour") {
            quotas.usersPerAddressPerHour = try node.integer(in: counts)
        }
        if let node = section.optional("groups_per_user") { quotas.groupsPerUser = try node.integer(in: counts) }
        if let node = section.optional("files_per_user") { quotas.filesPerUser = try node.integer(in: counts) }
        if let node = section.optional("metadata_per_user") {
            quotas.metadataPerUser = try node.size(in: 1...(1 << 50))
        }
        return quotas
    }

    private func trackers(_ node: ConfigNode) throws(ClusterConfigError) -> [ParsedTracker] {
        var trackers: [ParsedTracker] = []
        for item in try node.sequence() {
            let fields = try item.mapping(allowed: ["id", "host", "client_port", "sync_port", "data_dir"])
            let idNode = try fields.required("id")
            let id = try idNode.name()
            guard id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw ClusterConfigError.badTrackerID(idNode.path, line: idNode.valueLine, id: id)
            }
            if let first = trackers.first(where: { $0.config.id == id }) {
                throw ClusterConfigError.duplicateTrackerID(
                    idNode.path, line: idNode.valueLine, id: id, firstPath: first.idNode.path)
            }
            let host = try fields.required("host").name()
            let clientPort = try fields.required("client_port")
            let syncPort = try fields.required("sync_port")
            let dataDir = try fields.required("data_dir").name()
            let config = TrackerConfig(
                id: id, host: host, clientPort: try clientPort.integer(in: Self.portRange),
                syncPort: try syncPort.integer(in: Self.portRange),
                dataDir: ConfigPath.resolve(dataDir, against: self.baseDirectory))
            trackers.append(
                ParsedTracker(config: config, idNode: idNode, clientPortNode: clientPort, syncPortNode: syncPort))
        }
        guard trackers.count == Self.trackerCount else {
            throw ClusterConfigError.trackerCount(node.path, line: node.line, count: trackers.count)
        }
        return trackers
    }

    private func replication(_ top: ConfigMapping) throws(ClusterConfigError) -> ReplicationConfig {
        var replication = ReplicationConfig()
        guard let section = try top.section("replication", allowed: ["heartbeat", "failover_timeout"]) else {
            return replication
        }
        if let node = section.optional("heartbeat") { replication.heartbeat = try node.duration() }
        if let node = section.optional("failover_timeout") { replication.failoverTimeout = try node.duration() }
        guard replication.failoverTimeout > replication.heartbeat else {
            let node = section.optional("failover_timeout") ?? section.optional("heartbeat") ?? section.owner
            throw ClusterConfigError.timeoutNotAboveHeartbeat("replication.failover_timeout", line: node.valueLine)
        }
        return replication
    }

    private func swarm(_ top: ConfigMapping) throws(ClusterConfigError) -> SwarmConfig {
        var swarm = SwarmConfig()
        let keys = ["peer_timeout", "in_flight", "max_peers", "max_peers_per_address"]
        guard let section = try top.section("swarm", allowed: keys) else {
            return swarm
        }
        if let node = section.optional("peer_timeout") { swarm.peerTimeout = try node.duration() }
        if let node = section.optional("in_flight") { swarm.inFlight = try node.size(in: 1...(1 << 30)) }
        if let node = section.optional("max_peers") { swarm.maxPeers = try node.integer(in: 1...65536) }
        if let node = section.optional("max_peers_per_address") {
            swarm.maxPeersPerAddress = try node.integer(in: 1...65536)
        }
        return swarm
    }

    private func limits(_ top: ConfigMapping) throws(ClusterConfigError) -> LimitsConfig {
        var limits = LimitsConfig()
        let keys = [
            "max_frame", "max_line", "max_connections", "max_connections_per_address", "idle_timeout",
            "max_buffered_input",
        ]
        guard let section = try top.section("limits", allowed: keys) else { return limits }
        if let node = section.optional("max_frame") { limits.maxFrame = try node.size(in: 1...Int(UInt32.max)) }
        if let node = section.optional("max_line") { limits.maxLine = try node.size(in: 1...Int(UInt32.max)) }
        if let node = section.optional("max_connections") {
            limits.maxConnections = try node.integer(in: 1...1_000_000)
        }
        if let node = section.optional("max_connections_per_address") {
            limits.maxConnectionsPerAddress = try node.integer(in: 1...1_000_000)
        }
        if let node = section.optional("idle_timeout") { limits.idleTimeout = try node.duration() }
        if let node = section.optional("max_buffered_input") {
            limits.maxBufferedInput = try node.size(in: (1 << 20)...(1 << 40))
        }
        guard limits.maxBufferedInput >= limits.maxFrame else {
            let node = section.optional("max_buffered_input") ?? section.optional("max_frame") ?? section.owner
            throw ClusterConfigError.bufferBelowFrame("limits.max_buffered_input", line: node.valueLine)
        }
        return limits
    }

    private func storage(_ top: ConfigMapping) throws(ClusterConfigError) -> StorageConfig {
        var storage = StorageConfig()
        guard let section = try top.section("storage", allowed: ["snapshot_every_ops", "snapshot_every_bytes"]) else {
            return storage
        }
        if let node = section.optional("snapshot_every_ops") {
            storage.snapshotEveryOps = try node.integer(in: 1...Int.max)
        }
        if let node = section.optional("snapshot_every_bytes") {
            storage.snapshotEveryBytes = try node.size(in: 1...Int.max)
        }
        return storage
    }

    private func metricsPort(_ top: ConfigMapping) throws(ClusterConfigError) -> (port: Int, node: ConfigNode)? {
        guard let node = top.optional("metrics") else { return nil }
        let portNode = try node.mapping(allowed: ["port"]).required("port")
        // Tracker i serves metrics on port + i, so the last tracker's port must be valid too.
        let port = try portNode.integer(
            in: Self.portRange.lowerBound...(Self.portRange.upperBound - Self.trackerCount + 1))
        return (port, portNode)
    }
}

/// A tracker and the nodes its checks point at.
struct ParsedTracker {
    let config: TrackerConfig
    let idNode: ConfigNode
    let clientPortNode: ConfigNode
    let syncPortNode: ConfigNode
}

/// A peer as parsed, with the nodes its errors point at.
struct ParsedPeer {
    let config: PeerConfig
    let userNode: ConfigNode
    let portNode: ConfigNode?
    let metricsPortNode: ConfigNode?
}
