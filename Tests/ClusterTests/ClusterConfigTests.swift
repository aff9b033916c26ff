import Foundation
import Testing

@testable import Cluster

@Suite struct ClusterConfigTests {
    /// The repository's top-level `cluster.yaml`.
    static let repoConfig = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("cluster.yaml").path

    @Test func repositoryConfigLoadsWithTheDesignValues() throws {
        let config = try ClusterConfig.load(path: Self.repoConfig)
        let root = ConfigPath.directory(of: Self.repoConfig)
        #expect(config.name == "demo")
        #expect(config.pieceSize == 512 * 1024)
        #expect(config.secretFile == root + "/cluster.secret")
        #expect(
            config.trackers == [
                TrackerConfig(
                    id: "t1", host: "127.0.0.1", clientPort: 7101, syncPort: 7201, dataDir: root + "/data/t1"),
                TrackerConfig(
                    id: "t2", host: "127.0.0.1", clientPort: 7102, syncPort: 7202, dataDir: root + "/data/t2"),
            ])
        #expect(config.replication == ReplicationConfig(heartbeat: .milliseconds(100), failoverTimeout: .seconds(1)))
        #expect(config.limits == LimitsConfig(maxFrame: 16 << 20, maxLine: 64 << 10))
        #expect(config.storage == StorageConfig())
        #expect(config.metricsPort == 9101)
        #expect(config.swarm == SwarmConfig())
        #expect(config.tracker(id: "t2")?.clientPort == 7102)
        #expect(config.tracker(id: "t3") == nil)
    }

    @Test func optionalSectionsTakeTheDefaults() throws {
        let config = try ClusterConfig.parse(yaml: Self.minimal, baseDirectory: "/etc/tandem")
        #expect(config.replication.heartbeat == .milliseconds(100))
        #expect(config.replication.failoverTimeout == .seconds(1))
        #expect(config.limits.maxFrame == 16 * 1024 * 1024)
        #expect(config.limits.maxLine == 64 * 1024)
        #expect(config.limits.maxConnections == 1024)
        #expect(config.limits.idleTimeout == .seconds(300))
        #expect(config.storage.snapshotEveryOps == 100_000)
        #expect(config.storage.snapshotEveryBytes == 64 * 1024 * 1024)
        #expect(config.metricsPort == nil)
        #expect(config.swarm == SwarmConfig(peerTimeout: .seconds(10), inFlight: 8 << 20, maxPeers: 256))
        #expect(config.peers.isEmpty)
    }

    @Test func everyKeyIsRead() throws {
        let yaml =
            Self.minimal + """
                replication: { heartbeat: 50ms, failover_timeout: 1.5s }
                limits: { max_frame: 1MiB, max_line: 4KB, max_connections: 10_000, max_connections_per_address: 50,
                          idle_timeout: 2m, max_buffered_input: 64MiB }
                storage: { snapshot_every_ops: 500, snapshot_every_bytes: 1GiB }
                metrics:
                  port: 9200
                swarm: { peer_timeout: 3s, in_flight: 2MiB, max_peers: 16, max_peers_per_address: 4 }
                quotas: { users_per_address_per_hour: 5, groups_per_user: 6, files_per_user: 7, metadata_per_user: 8MiB }
                peers:
                  - { host: 10.0.0.9, user: seedbox, port: 7301, metrics_port: 9301 }
                  - { host: 10.0.0.9, user: build_bot }
                """
        let config = try ClusterConfig.parse(yaml: yaml, baseDirectory: "/etc/tandem")
        #expect(
            config.replication == ReplicationConfig(heartbeat: .milliseconds(50), failoverTimeout: .milliseconds(1500)))
        #expect(
            config.limits
                == LimitsConfig(
                    maxFrame: 1 << 20, maxLine: 4000, maxConnections: 10_000, maxConnectionsPerAddress: 50,
                    idleTimeout: .seconds(120), maxBufferedInput: 64 << 20))
        #expect(config.storage == StorageConfig(snapshotEveryOps: 500, snapshotEveryBytes: 1 << 30))
        #expect(config.metricsPort == 9200)
        #expect(
            config.swarm
                == SwarmConfig(peerTimeout: .seconds(3), inFlight: 2 << 20, maxPeers: 16, maxPeersPerAddress: 4))
        #expect(
            config.quotas
                == QuotasConfig(usersPerAddressPerHour: 5, groupsPerUser: 6, filesPerUser: 7, metadataPerUser: 8 << 20))
        #expect(
            config.peers == [
                PeerConfig(host: "10.0.0.9", user: "seedbox", port: 7301, metricsPort: 9301),
                PeerConfig(host: "10.0.0.9", user: "build_bot"),
            ])
    }

    @Test func pathsResolveAgainstTheBaseDirectory() throws {
        let yaml = Self.minimal.replacing("secret_file: s", with: "secret_file: ../keys/./s")
            .replacing("data_dir: /var/t2", with: "data_dir: /var/lib//t2/")
        let config = try ClusterConfig.parse(yaml: yaml, baseDirectory: "/etc/tandem")
        #expect(config.secretFile == "/etc/keys/s")
        #expect(config.trackers.map(\.dataDir) == ["/etc/tandem/d1", "/var/lib/t2"])
    }

    @Test func secretIsReadWithoutItsTrailingNewline() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-secret-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try ClusterConfig.parse(yaml: Self.minimal, baseDirectory: directory)

        #expect(throws: ClusterConfigError.secretMissing(path: directory + "/s")) { try config.readSecret() }
        try "\n".write(toFile: directory + "/s", atomically: true, encoding: .utf8)
        #expect(throws: ClusterConfigError.secretEmpty(path: directory + "/s")) { try config.readSecret() }
        try "00ff\r\n".write(toFile: directory + "/s", atomically: true, encoding: .utf8)
        #expect(try config.readSecret() == Array("00ff".utf8))
    }

    @Test func loadNamesTheFileInItsErrors() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-\(UUID()).yaml").path
        try (Self.minimal + "extra: 1\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ClusterConfigError.self) { try ClusterConfig.load(path: path) }
        #expect(error?.file == path)
        #expect(error?.description.hasPrefix("\(path):12: extra: unknown key") == true)

        let missing = #expect(throws: ClusterConfigError.self) { try ClusterConfig.load(path: path + ".absent") }
        #expect(missing?.description.contains("cannot read") == true)
    }

    /// A small valid file of eleven lines; the second tracker spans lines 7 to 11.
    static let minimal = """
        cluster:
          name: x
          piece_size: 16KiB
          secret_file: s
        trackers:
          - { id: a, host: h1, client_port: 1, sync_port: 2, data_dir: d1 }
          - id: b
            host: h1
            client_port: 3
            sync_port: 4
            data_dir: /var/t2

        """
}
