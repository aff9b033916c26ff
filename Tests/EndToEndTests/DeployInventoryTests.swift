import Foundation
import TandemTestKit
import Testing

/// `tandemctl deploy inventory` refuses, before anything is deployed, what would stop a deploy half done.
@Suite struct DeployInventoryTests {
    @Test func aMissingSecretIsRefusedBeforeAnyHostIsTouched() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("inventory-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("cluster.yaml").path
        try """
        cluster: { name: prod, piece_size: 64KiB, secret_file: cluster.secret }
        trackers:
          - { id: t1, host: 10.0.0.1, client_port: 7101, sync_port: 7201, data_dir: /var/lib/tandem/t1 }
          - { id: t2, host: 10.0.0.2, client_port: 7101, sync_port: 7201, data_dir: /var/lib/tandem/t2 }

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let inventory = ["deploy", "inventory", "--config", config]
        let missing = try TestCluster.run(Binaries.tandemctl, inventory, stdin: nil, in: directory)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cluster.secret does not exist"), "\(missing)")
        #expect(missing.stdout.isEmpty, "no inventory")

        try "5a5a\n".write(
            to: directory.appendingPathComponent("cluster.secret"), atomically: true, encoding: .utf8)
        let made = try TestCluster.run(Binaries.tandemctl, inventory, stdin: nil, in: directory)
        #expect(made.status == 0, "\(made)")
        #expect(made.stdout.contains("tandem_secret_path: /etc/tandem/cluster.secret"), "\(made.stdout)")
    }
}
