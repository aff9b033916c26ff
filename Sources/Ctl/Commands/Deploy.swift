import ArgumentParser
import Cluster
import Foundation
import TrackerClient

extension Tandemctl {
    struct Deploy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deploy cluster.yaml onto its hosts (scripts/deploy runs the playbook with this inventory).",
            subcommands: [Inventory.self, Prometheus.self])

        struct Inventory: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print the Ansible inventory of cluster.yaml for deploy/playbook.yml.",
                discussion: """
                    One host per tracker host of cluster.yaml, with the trackers it runs (id, ports, data_dir as \
                    the host will see them: relative paths are taken against /etc/tandem, where the playbook \
                    installs the file), and the files the playbook installs: cluster.yaml, and the secret, read \
                    from this machine (it must exist: a deploy without it would stop half done).
                    """)

            @OptionGroup var cluster: ClusterOptions

            func run() throws {
                let path = try self.cluster.configPath()
                let text: String
                do {
                    text = try String(contentsOfFile: path, encoding: .utf8)
                } catch {
                    throw ClientError.usage("cannot read \(path): \(error.localizedDescription)")
                }
                let inventory = try AnsibleInventory(yaml: text, clusterFile: path)
                // The playbook copies the secret to the trackers' hosts: missing, it would stop after the first.
                _ = try inventory.local.readSecret()
                print(inventory.yaml, terminator: "")
            }
        }

        struct Prometheus: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print the Prometheus scrape configuration of cluster.yaml.",
                discussion: """
                    A scrape_configs list to merge into prometheus.yml: the job tandem-trackers (each tracker at \
                    its host, port metrics.port plus its index) and the job tandem-peers (each peer of peers that \
                    names a metrics_port), every target labelled with the cluster, a peer's also with its account \
                    (the trackers' metrics name their tracker themselves). \
                    deploy/grafana/tandem.json is a dashboard of their metrics.
                    """)

            @OptionGroup var cluster: ClusterOptions

            func run() throws {
                let path = try self.cluster.configPath()
                let config = try ClusterConfig.load(path: path)
                print(try PrometheusScrapeConfig(config: config, clusterFile: path).yaml, terminator: "")
            }
        }
    }
}
