import Foundation
import Testing
import Yams

@testable import Ctl

/// The inventory `scripts/deploy` runs the playbook with, made from cluster.yaml as the hosts will see it.
@Suite struct AnsibleInventoryTests {
    static func yaml(dataDirs: (String, String), hosts: (String, String) = ("198.18.7.1", "198.18.7.2")) -> String {
        """
        cluster: { name: prod, piece_size: 512KiB, secret_file: keys/cluster.secret }
        trackers:
          - { id: t1, host: \(hosts.0), client_port: 7101, sync_port: 7201, data_dir: \(dataDirs.0) }
          - { id: t2, host: \(hosts.1), client_port: 7102, sync_port: 7202, data_dir: \(dataDirs.1) }
        """
    }

    @Test func eachHostGetsItsTrackersAndTheSecretGoesWhereTheHostsResolveIt() throws {
        let inventory = try AnsibleInventory(
            yaml: Self.yaml(dataDirs: ("/var/lib/tandem/t1", "/srv/t2")), clusterFile: "/home/op/prod/cluster.yaml")
        let root = try #require(try Yams.load(yaml: inventory.yaml) as? [String: Any])
        let all = try #require(root["all"] as? [String: Any])
        let vars = try #require(all["vars"] as? [String: Any])
        #expect(vars["tandem_secret_source"] as? String == "/home/op/prod/keys/cluster.secret")
        #expect(vars["tandem_secret_path"] as? String == "/etc/tandem/keys/cluster.secret")
        #expect(vars["tandem_cluster_file"] as? String == "/home/op/prod/cluster.yaml")
        let hosts = try #require(
            ((all["children"] as? [String: Any])?["trackers"] as? [String: Any])?["hosts"] as? [String: Any])
        let second = try #require((hosts["198.18.7.2"] as? [String: Any])?["tandem_trackers"] as? [[String: Any]])
        #expect(second.count == 1)
        #expect(second.first?["id"] as? String == "t2" && second.first?["data_dir"] as? String == "/srv/t2")
        #expect(second.first?["client_port"] as? Int == 7102 && second.first?["sync_port"] as? Int == 7202)
    }

    @Test func bothTrackersOnOneHostAreListedUnderIt() throws {
        let inventory = try AnsibleInventory(
            yaml: Self.yaml(dataDirs: ("/var/lib/tandem/t1", "/var/lib/tandem/t2"), hosts: ("10.0.0.5", "10.0.0.5")),
            clusterFile: "/etc/tandem/cluster.yaml")
        let root = try #require(try Yams.load(yaml: inventory.yaml) as? [String: Any])
        let hosts =
            (((root["all"] as? [String: Any])?["children"] as? [String: Any])?["trackers"] as? [String: Any])?[
                "hosts"] as? [String: Any]
        let trackers = (hosts?["10.0.0.5"] as? [String: Any])?["tandem_trackers"] as? [[String: Any]]
        #expect(trackers?.compactMap { $0["id"] as? String } == ["t1", "t2"])
    }

    @Test func aRelativeDataDirIsRefusedWithWhereItWouldLand() {
        #expect {
            try AnsibleInventory(
                yaml: Self.yaml(dataDirs: ("data/t1", "/var/lib/tandem/t2")), clusterFile: "/home/op/cluster.yaml")
        } throws: { error in
            "\(error)".contains("/etc/tandem/data/t1") && "\(error)".contains("/var/lib/tandem/t1")
        }
    }

    @Test func twoTrackersOnOneHostCannotShareADataDir() {
        #expect {
            try AnsibleInventory(
                yaml: Self.yaml(dataDirs: ("/var/lib/tandem/x", "/var/lib/tandem/x"), hosts: ("10.0.0.5", "10.0.0.5")),
                clusterFile: "/etc/tandem/cluster.yaml")
        } throws: { error in
            "\(error)".contains("share a data_dir")
        }
    }
}
