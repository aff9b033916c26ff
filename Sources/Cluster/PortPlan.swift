/// Every port the cluster binds, by host, so that no two listeners of one host share a port.
///
/// Each tracker binds its client port, its sync port and, with a `metrics` section, `metrics.port + index`; each
/// peer of `peers` its `port` and `metrics_port` when it names them. `localhost` and `127.0.0.1` count as one
/// host; any other spelling is compared as written.
struct PortPlan {
    let trackers: [ParsedTracker]
    let metricsPort: (port: Int, node: ConfigNode)?
    var peers: [ParsedPeer] = []

    func check() throws(ClusterConfigError) {
        var used: [String: [Int: String]] = [:]
        var listeners: [(host: String, claims: [Claim])] = []
        for (index, tracker) in self.trackers.enumerated() {
            var claims = [
                Claim(port: tracker.config.clientPort, node: tracker.clientPortNode, user: tracker.clientPortNode.path),
                Claim(port: tracker.config.syncPort, node: tracker.syncPortNode, user: tracker.syncPortNode.path),
            ]
            if let metrics = self.metricsPort {
                let user = "the metrics of \(tracker.config.id) (metrics.port + \(index))"
                claims.append(Claim(port: metrics.port + index, node: metrics.node, user: user))
            }
            listeners.append((tracker.config.host, claims))
        }
        for peer in self.peers {
            let claims = [
                peer.portNode.map { Claim(port: peer.config.port!, node: $0, user: $0.path) },
                peer.metricsPortNode.map { Claim(port: peer.config.metricsPort!, node: $0, user: $0.path) },
            ]
            listeners.append((peer.config.host, claims.compactMap { $0 }))
        }
        for (host, claims) in listeners {
            for claim in claims {
                if let other = used[Self.hostKey(host)]?[claim.port] {
                    throw ClusterConfigError.duplicatePort(
                        claim.node.path, line: claim.node.valueLine, port: claim.port, host: host, otherPath: other)
                }
                used[Self.hostKey(host), default: [:]][claim.port] = claim.user
            }
        }
    }

    /// One listener's port, the key that sets it, and how the error names it.
    private struct Claim {
        let port: Int
        let node: ConfigNode
        let user: String
    }

    private static func hostKey(_ host: String) -> String {
        let lowered = host.lowercased()
        return lowered == "localhost" ? "127.0.0.1" : lowered
    }
}
