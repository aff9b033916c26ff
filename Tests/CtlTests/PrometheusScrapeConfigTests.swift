import Cluster
import Testing
import Yams

@testable import Ctl

/// The scrape configuration `tandemctl deploy prometheus` prints for cluster.yaml.
@Suite struct PrometheusScrapeConfigTests {
    static func config(_ extra: String) throws -> ClusterConfig {
        try ClusterConfig.parse(
            yaml: """
                cluster: { name: prod, piece_size: 512KiB, secret_file: s }
                trackers:
                  - { id: t1, host: 10.0.0.1, client_port: 7101, sync_port: 7201, data_dir: /d1 }
                  - { id: t2, host: 10.0.0.2, client_port: 7101, sync_port: 7201, data_dir: /d2 }
                \(extra)
                """, baseDirectory: "/etc/tandem")
    }

    /// The jobs of the printed configuration, by name: each target with its labels.
    static func jobs(_ yaml: String) throws -> [String: [(target: String, labels: [String: String])]] {
        let root = try #require(try Yams.load(yaml: yaml) as? [String: Any])
        let jobs = try #require(root["scrape_configs"] as? [[String: Any]])
        var byName: [String: [(String, [String: String])]] = [:]
        for job in jobs {
            let name = try #require(job["job_name"] as? String)
            byName[name] = (job["static_configs"] as? [[String: Any]] ?? []).map {
                (($0["targets"] as? [String])?.first ?? "", $0["labels"] as? [String: String] ?? [:])
            }
        }
        return byName
    }

    @Test func trackersAtTheirMetricsPortAndPeersThatNameOne() throws {
        let config = try Self.config(
            """
            metrics: { port: 9101 }
            peers:
              - { host: 10.0.0.9, user: seedbox, metrics_port: 9301 }
              - { host: 10.0.0.9, user: quiet }
            """)
        let jobs = try Self.jobs(try PrometheusScrapeConfig(config: config, clusterFile: "/x/cluster.yaml").yaml)
        #expect(jobs["tandem-trackers"]?.map(\.target) == ["10.0.0.1:9101", "10.0.0.2:9102"])
        #expect(jobs["tandem-trackers"]?.first?.labels == ["cluster": "prod"])
        #expect(jobs["tandem-peers"]?.map(\.target) == ["10.0.0.9:9301"], "a peer without metrics_port is not scraped")
        #expect(jobs["tandem-peers"]?.first?.labels == ["cluster": "prod", "peer": "seedbox"])
    }

    @Test func withoutAMetricsSectionThereIsNoTrackerJobAndTheFileSaysWhy() throws {
        let text = try PrometheusScrapeConfig(config: try Self.config(""), clusterFile: "/x/cluster.yaml").yaml
        #expect(try Self.jobs(text).isEmpty)
        #expect(text.contains("no metrics section"))
    }
}
