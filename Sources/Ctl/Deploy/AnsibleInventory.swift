import Cluster
import Foundation
import TrackerClient
import Yams

/// The Ansible inventory `deploy/playbook.yml` runs on, made from `cluster.yaml`: the tracker hosts with the
/// trackers each runs, the hosts of `peers` with the peer daemons each runs, and the files the playbook installs.
/// A pure value: the file is read by the caller.
struct AnsibleInventory {
    /// Where the playbook puts `cluster.yaml` on every host.
    static let configDirectory = "/etc/tandem"

    /// The inventory's YAML.
    let yaml: String
    /// The cluster as this machine reads the file (where the secret to install is).
    let local: ClusterConfig

    /// The inventory for the cluster file whose text is `yaml`, at `clusterFile` on this machine.
    ///
    /// Paths in the file are resolved twice: against its directory here (where the secret is read from) and
    /// against ``configDirectory`` (where the hosts will see them), so the inventory says what each host gets.
    init(yaml text: String, clusterFile: String) throws {
        let here = try ClusterConfig.parse(
            yaml: text, baseDirectory: (clusterFile as NSString).deletingLastPathComponent)
        let onHosts = try ClusterConfig.parse(yaml: text, baseDirectory: Self.configDirectory)
        var hosts: [String: [[String: Any]]] = [:]
        // A relative data_dir resolves differently here and there: on the hosts it would sit under /etc/tandem.
        for (local, remote) in zip(here.trackers, onHosts.trackers) where local.dataDir != remote.dataDir {
            throw ClientError.usage(
                "tracker \(remote.id)'s data_dir is relative, so on its host it would be "
                    + "\(remote.dataDir), beside the configuration; give it an absolute path, such as "
                    + "/var/lib/tandem/\(remote.id)")
        }
        for tracker in onHosts.trackers {
            hosts[tracker.host, default: []].append([
                "id": tracker.id, "data_dir": tracker.dataDir, "client_port": tracker.clientPort,
                "sync_port": tracker.syncPort,
            ])
        }
        for (host, trackers) in hosts where trackers.count > 1 {
            let directories = Set(trackers.map { $0["data_dir"] as! String })
            guard directories.count == trackers.count else {
                throw ClientError.usage("the trackers on \(host) share a data_dir; give each its own")
            }
        }
        var peers: [String: [[String: Any]]] = [:]
        for peer in onHosts.peers {
            var entry: [String: Any] = ["user": peer.user]
            if let port = peer.port { entry["port"] = port }
            if let metricsPort = peer.metricsPort { entry["metrics_port"] = metricsPort }
            peers[peer.host, default: []].append(entry)
        }
        let inventory: [String: Any] = [
            "all": [
                "vars": [
                    "tandem_cluster_name": onHosts.name,
                    "tandem_cluster_file": clusterFile,
                    "tandem_secret_source": here.secretFile,
                    "tandem_secret_path": onHosts.secretFile,
                    "tandem_config_path": Self.configDirectory + "/cluster.yaml",
                ],
                "children": [
                    "trackers": ["hosts": hosts.mapValues { ["tandem_trackers": $0] }],
                    "peers": ["hosts": peers.mapValues { ["tandem_peers": $0] }],
                ],
            ]
        ]
        self.local = here
        self.yaml =
            "# Made by `tandemctl deploy inventory` from \(clusterFile); made again by each deploy.\n"
            + (try Yams.dump(object: inventory, sortKeys: true))
    }
}
