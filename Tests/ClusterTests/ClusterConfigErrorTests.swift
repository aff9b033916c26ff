import Testing

@testable import Cluster

/// Broken files, each with the key path and line its error must name.
@Suite struct ClusterConfigErrorTests {
    /// Seven lines: `cluster` on lines 1 to 4, `trackers` on line 5, the trackers on lines 6 and 7.
    static let valid = """
        cluster:
          name: x
          piece_size: 16KiB
          secret_file: s
        trackers:
          - { id: a, host: h, client_port: 1, sync_port: 2, data_dir: d1 }
          - { id: b, host: h, client_port: 3, sync_port: 4, data_dir: d2 }

        """

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let yaml: String
        let keyPath: String
        let line: Int?
        /// A part of the description that tells this mistake from the others.
        let says: String

        var testDescription: String { self.name }

        /// The valid file with `old` replaced by `new` (which must occur).
        init(_ name: String, _ old: String, _ new: String, keyPath: String, line: Int?, says: String) {
            precondition(ClusterConfigErrorTests.valid.contains(old), "\(name): '\(old)' is not in the valid file")
            self.init(
                name, yaml: ClusterConfigErrorTests.valid.replacing(old, with: new), keyPath: keyPath, line: line,
                says: says)
        }

        init(_ name: String, yaml: String, keyPath: String, line: Int?, says: String) {
            self.name = name
            self.yaml = yaml
            self.keyPath = keyPath
            self.line = line
            self.says = says
        }
    }

    static let cases: [Case] = [
        // Structure
        Case("YAML syntax", "  name: x\n", "  name: [x\n", keyPath: "", line: 3, says: "not valid YAML"),
        Case("empty file", yaml: "# nothing\n", keyPath: "", line: 1, says: "holds no configuration"),
        Case("root is a list", yaml: "- a\n- b\n", keyPath: "", line: 1, says: "expected a mapping"),
        Case("unknown top-level key", yaml: valid + "bogus: 1\n", keyPath: "bogus", line: 8, says: "unknown key"),
        Case(
            "unknown cluster key", "  name: x\n", "  name: x\n  colour: red\n", keyPath: "cluster.colour", line: 3,
            says: "name, piece_size, secret_file"),
        Case(
            "unknown tracker key", "data_dir: d2 }", "data_dir: d2, weight: 3 }", keyPath: "trackers[1].weight",
            line: 7, says: "unknown key"),
        Case(
            "unknown limits key", yaml: valid + "limits:\n  max_frames: 1MiB\n", keyPath: "limits.max_frames", line: 9,
            says: "unknown key"),
        Case(
            "unknown metrics key", yaml: valid + "metrics: { port: 9000, path: /m }\n", keyPath: "metrics.path",
            line: 8, says: "unknown key"),
        Case(
            "duplicate key", "  name: x\n", "  name: x\n  name: y\n", keyPath: "name", line: 2,
            says: "more than once"),
        // Missing keys and wrong types
        Case("missing cluster.name", "  name: x\n", "", keyPath: "cluster.name", line: 1, says: "add `name:`"),
        Case("missing cluster section", yaml: "trackers: []\n", keyPath: "cluster", line: 1, says: "missing"),
        Case(
            "missing trackers", yaml: "cluster: { name: x, piece_size: 16KiB, secret_file: s }\n",
            keyPath: "trackers", line: 1, says: "missing"),
        Case("missing tracker field", "sync_port: 4, ", "", keyPath: "trackers[1].sync_port", line: 7, says: "missing"),
        Case("null value", "  name: x\n", "  name:\n", keyPath: "cluster.name", line: 2, says: "found nothing"),
        Case(
            "list for a size", "piece_size: 16KiB", "piece_size: [1, 2]", keyPath: "cluster.piece_size", line: 3,
            says: "found a list"),
        Case(
            "mapping for trackers",
            yaml: "cluster: { name: x, piece_size: 16KiB, secret_file: s }\ntrackers: { a: 1 }\n",
            keyPath: "trackers", line: 2, says: "expected a list"),
        Case("scalar for cluster", yaml: "cluster: demo\n", keyPath: "cluster", line: 1, says: "expected a mapping"),
        Case("empty name", "  name: x\n", "  name: ''\n", keyPath: "cluster.name", line: 2, says: "must not be empty"),
        // Sizes, durations, numbers
        Case("bad size", "16KiB", "16XB", keyPath: "cluster.piece_size", line: 3, says: "'16XB' is not a size"),
        Case(
            "piece size not a power of two", "16KiB", "48KiB", keyPath: "cluster.piece_size", line: 3,
            says: "not a power of two"),
        Case(
            "piece size in powers of 1000", "16KiB", "512KB", keyPath: "cluster.piece_size", line: 3,
            says: "not a power of two"),
        Case("piece size too large", "16KiB", "32MiB", keyPath: "cluster.piece_size", line: 3, says: "16KiB...16MiB"),
        Case("piece size too small", "16KiB", "8KiB", keyPath: "cluster.piece_size", line: 3, says: "out of range"),
        Case(
            "duration without unit", yaml: valid + "replication:\n  heartbeat: 100\n", keyPath: "replication.heartbeat",
            line: 9, says: "'100' is not a duration"),
        Case(
            "duration with bad unit", yaml: valid + "replication:\n  failover_timeout: 1sec\n",
            keyPath: "replication.failover_timeout", line: 9, says: "not a duration"),
        Case(
            "zero duration", yaml: valid + "limits: { idle_timeout: 0s }\n", keyPath: "limits.idle_timeout", line: 8,
            says: "not a duration"),
        Case(
            "failover not above heartbeat", yaml: valid + "replication:\n  heartbeat: 1s\n  failover_timeout: 500ms\n",
            keyPath: "replication.failover_timeout", line: 10, says: "longer than replication.heartbeat"),
        Case(
            "zero connections", yaml: valid + "limits:\n  max_connections: 0\n", keyPath: "limits.max_connections",
            line: 9, says: "out of range"),
        Case(
            "a buffer smaller than a frame", yaml: valid + "limits:\n  max_frame: 32MiB\n  max_buffered_input: 16MiB\n",
            keyPath: "limits.max_buffered_input", line: 10, says: "at least limits.max_frame"),
        Case(
            "unknown quota", yaml: valid + "quotas: { files: 3 }\n", keyPath: "quotas.files", line: 8,
            says: "users_per_address_per_hour, groups_per_user, files_per_user, metadata_per_user"),
        Case(
            "bad snapshot size", yaml: valid + "storage: { snapshot_every_bytes: lots }\n",
            keyPath: "storage.snapshot_every_bytes", line: 8, says: "not a size"),
        Case(
            "unknown swarm key", yaml: valid + "swarm: { peers: 3 }\n", keyPath: "swarm.peers", line: 8,
            says: "peer_timeout, in_flight, max_peers"),
        Case(
            "zero peer timeout", yaml: valid + "swarm: { peer_timeout: 0s }\n", keyPath: "swarm.peer_timeout", line: 8,
            says: "not a duration"),
        Case(
            "in_flight beyond 1GiB", yaml: valid + "swarm:\n  in_flight: 2GiB\n", keyPath: "swarm.in_flight", line: 9,
            says: "out of range"),
        Case(
            "no peers", yaml: valid + "swarm:\n  max_peers: 0\n", keyPath: "swarm.max_peers", line: 9,
            says: "out of range"),
        // Trackers
        Case(
            "one tracker", "  - { id: b, host: h, client_port: 3, sync_port: 4, data_dir: d2 }\n", "",
            keyPath: "trackers", line: 5, says: "lists 1 tracker;"),
        Case(
            "three trackers", yaml: valid + "  - { id: c, host: h, client_port: 5, sync_port: 6, data_dir: d3 }\n",
            keyPath: "trackers", line: 5, says: "exactly two"),
        Case("empty tracker id", "id: a,", "id: '',", keyPath: "trackers[0].id", line: 6, says: "must not be empty"),
        Case(
            "bad tracker id", "id: a,", "id: 't 1',", keyPath: "trackers[0].id", line: 6, says: "not a valid tracker id"
        ),
        Case("duplicate tracker id", "id: b,", "id: a,", keyPath: "trackers[1].id", line: 7, says: "trackers[0].id"),
        Case(
            "tracker is a scalar", "  - { id: b, host: h, client_port: 3, sync_port: 4, data_dir: d2 }", "  - t2",
            keyPath: "trackers[1]", line: 7, says: "expected a mapping"),
        // Peers
        Case(
            "bad peer user", yaml: Self.valid + "peers:\n  - { host: p, user: Alice }\n", keyPath: "peers[0].user",
            line: 9, says: "not a system account name"),
        Case(
            "duplicate peer", yaml: Self.valid + "peers:\n  - { host: p, user: seed }\n  - { host: p, user: seed }\n",
            keyPath: "peers[1].user", line: 10, says: "peers[0].user already runs a peer daemon as seed on p"),
        Case(
            "peer port taken by a tracker", yaml: Self.valid + "peers:\n  - { host: h, user: seed, port: 3 }\n",
            keyPath: "peers[0].port", line: 9, says: "port 3 on h is already used by trackers[1].client_port"),
        Case(
            "unknown peer key", yaml: Self.valid + "peers:\n  - { host: p, user: seed, home: /x }\n",
            keyPath: "peers[0].home", line: 9, says: "metrics_port"),
        // Ports
        Case(
            "port above 65535", "client_port: 3", "client_port: 70000", keyPath: "trackers[1].client_port", line: 7,
            says: "1...65535"),
        Case(
            "port zero", "sync_port: 2", "sync_port: 0", keyPath: "trackers[0].sync_port", line: 6, says: "out of range"
        ),
        Case(
            "port not a number", "client_port: 1", "client_port: http", keyPath: "trackers[0].client_port", line: 6,
            says: "not a whole number"),
        Case(
            "port shared within a tracker", "sync_port: 2", "sync_port: 1", keyPath: "trackers[0].sync_port", line: 6,
            says: "trackers[0].client_port"),
        Case(
            "port shared across trackers", "client_port: 3", "client_port: 2", keyPath: "trackers[1].client_port",
            line: 7, says: "port 2 on h is already used by trackers[0].sync_port"),
        Case(
            "localhost is 127.0.0.1",
            yaml: valid.replacing("host: h, client_port: 1", with: "host: localhost, client_port: 1")
                .replacing(
                    "host: h, client_port: 3, sync_port: 4", with: "host: 127.0.0.1, client_port: 3, sync_port: 1"),
            keyPath: "trackers[1].sync_port", line: 7, says: "already used by trackers[0].client_port"),
        Case(
            "metrics port on a client port", yaml: valid + "metrics:\n  port: 4\n", keyPath: "trackers[1].sync_port",
            line: 7, says: "the metrics of a (metrics.port + 0)"),
        Case(
            "metrics port plus index on a sync port", yaml: valid + "metrics:\n  port: 1\n", keyPath: "metrics.port",
            line: 9, says: "already used by trackers[0].client_port"),
        Case(
            "metrics port leaves no room", yaml: valid + "metrics: { port: 65535 }\n", keyPath: "metrics.port", line: 8,
            says: "1...65534"),
    ]

    @Test(arguments: Self.cases)
    func brokenFileNamesKeyAndLine(_ broken: Case) throws {
        let error = #expect(throws: ClusterConfigError.self) {
            try ClusterConfig.parse(yaml: broken.yaml, baseDirectory: "/tmp")
        }
        #expect(error?.keyPath == broken.keyPath)
        #expect(error?.line == broken.line)
        #expect(error?.description.contains(broken.says) == true, "\(error?.description ?? "no error")")
    }

    @Test func trackersOnDifferentHostsMayShareAPort() throws {
        let yaml = Self.valid.replacing(
            "host: h, client_port: 3, sync_port: 4", with: "host: g, client_port: 1, sync_port: 2")
        let config = try ClusterConfig.parse(yaml: yaml, baseDirectory: "/tmp")
        #expect(config.trackers.map(\.clientPort) == [1, 1])
    }

    @Test func descriptionSaysFileLineKeyAndFix() {
        let error = ClusterConfigError.outOfRange(
            "trackers[1].client_port", line: 7, value: "70000", allowed: "1...65535")
        #expect(error.description == "line 7: trackers[1].client_port: 70000 is out of range; use 1...65535")
        #expect(
            error.inFile("/etc/cluster.yaml").description.hasPrefix("/etc/cluster.yaml:7: trackers[1].client_port: "))
    }
}
