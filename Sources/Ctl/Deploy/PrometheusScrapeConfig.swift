import Cluster
import Yams

/// The Prometheus scrape configuration of a cluster, made from `cluster.yaml`: a job for the trackers (each on
/// `metrics.port` plus its index) and one for the peer daemons of `peers` that name a `metrics_port`. A pure value.
struct PrometheusScrapeConfig {
    /// The configuration's YAML: a `scrape_configs` list to merge into prometheus.yml.
    let yaml: String

    /// The scrape configuration of `config`, read from `clusterFile`.
    init(config: ClusterConfig, clusterFile: String) throws {
        var jobs: [[String: Any]] = []
        if let port = config.metricsPort {
            let targets = config.trackers.enumerated().map { index, tracker in
                [
                    "targets": ["\(tracker.host):\(port + index)"],
                    // Their metrics carry the tracker's id themselves.
                    "labels": ["cluster": config.name],
                ] as [String: Any]
            }
            jobs.append(["job_name": "tandem-trackers", "static_configs": targets])
        }
        let peers = config.peers.compactMap { peer in
            peer.metricsPort.map { port in
                [
                    "targets": ["\(peer.host):\(port)"],
                    "labels": ["cluster": config.name, "peer": peer.user],
                ] as [String: Any]
            }
        }
        if !peers.isEmpty { jobs.append(["job_name": "tandem-peers", "static_configs": peers]) }
        var text = "# Made by `tandemctl deploy prometheus` from \(clusterFile).\n"
        if config.metricsPort == nil {
            text +=
                "# cluster.yaml has no metrics section: the trackers serve no metrics (add metrics: { port: 9101 }).\n"
        }
        self.yaml = text + (try Yams.dump(object: ["scrape_configs": jobs], sortKeys: true))
    }
}
