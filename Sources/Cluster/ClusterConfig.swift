import Foundation
import Yams

/// The whole of `cluster.yaml`: the cluster's name and piece size, its two trackers and their tuning.
///
/// Load it once with ``load(path:)`` and pass it down; every path in it is absolute, resolved against the
/// directory of the file it came from, so the value means the same thing from any working directory.
public struct ClusterConfig: Hashable, Sendable {
    /// The cluster's name, shown in logs and metrics.
    public var name: String
    /// The size of a file piece in bytes: a power of two in 16KiB...16MiB.
    public var pieceSize: Int
    /// The absolute path of the file holding the cluster secret (see ``readSecret()``).
    public var secretFile: String
    /// Exactly two trackers, in preference order: clients try the first one first.
    public var trackers: [TrackerConfig]
    /// Primary/backup timing.
    public var replication: ReplicationConfig
    /// Connection and message limits.
    public var limits: LimitsConfig
    /// When the trackers snapshot their state.
    public var storage: StorageConfig
    /// The Prometheus port of the first tracker; the tracker at index `i` serves on `metricsPort + i`.
    /// Nil when `cluster.yaml` has no `metrics` section.
    public var metricsPort: Int?
    /// How peer daemons download.
    public var swarm: SwarmConfig
    /// How much one user may create.
    public var quotas: QuotasConfig
    /// The peer daemons a deploy runs on hosts of their own (none by default).
    public var peers: [PeerConfig]

    /// Creates a configuration from its parts; the optional sections take their documented defaults.
    public init(
        name: String, pieceSize: Int, secretFile: String, trackers: [TrackerConfig],
        replication: ReplicationConfig = ReplicationConfig(), limits: LimitsConfig = LimitsConfig(),
        storage: StorageConfig = StorageConfig(), metricsPort: Int? = nil, swarm: SwarmConfig = SwarmConfig(),
        quotas: QuotasConfig = QuotasConfig(), peers: [PeerConfig] = []
    ) {
        self.quotas = quotas
        self.peers = peers
        self.name = name
        self.pieceSize = pieceSize
        self.secretFile = secretFile
        self.trackers = trackers
        self.replication = replication
        self.limits = limits
        self.storage = storage
        self.metricsPort = metricsPort
        self.swarm = swarm
    }

    /// Reads and validates the YAML file at `path`.
    ///
    /// Relative paths inside the file (`secret_file`, `data_dir`) are resolved against the file's directory.
    /// - Throws: ``ClusterConfigError`` naming the file, the key path and the line of the first mistake.
    public static func load(path: String) throws(ClusterConfigError) -> ClusterConfig {
        let absolute = ConfigPath.absolute(path)
        let text: String
        do {
            text = try String(contentsOfFile: absolute, encoding: .utf8)
        } catch {
            throw ClusterConfigError.unreadable(reason: ConfigPath.describe(readError: error, path: absolute))
                .inFile(absolute)
        }
        do {
            return try Self.parse(yaml: text, baseDirectory: ConfigPath.directory(of: absolute))
        } catch {
            throw error.inFile(absolute)
        }
    }

    /// Parses and validates YAML text.
    ///
    /// - Parameters:
    ///   - yaml: the contents of a `cluster.yaml`.
    ///   - baseDirectory: the directory relative paths in the text are resolved against (made absolute against
    ///     the working directory when it is relative).
    /// - Throws: ``ClusterConfigError`` naming the key path and the line of the first mistake.
    public static func parse(yaml: String, baseDirectory: String) throws(ClusterConfigError) -> ClusterConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ClusterConfigError.syntax(error)
        } catch {
            throw ClusterConfigError.syntax(problem: String(describing: error), line: nil)
        }
        guard let root else { throw ClusterConfigError.empty }
        let parser = ClusterConfigParser(baseDirectory: ConfigPath.absolute(baseDirectory))
        return try parser.parse(root: ConfigNode(root: root))
    }

    /// The tracker with this id, if the cluster has one.
    public func tracker(id: String) -> TrackerConfig? {
        self.trackers.first { $0.id == id }
    }

    /// The cluster secret: the bytes of ``secretFile`` without its trailing newline.
    ///
    /// - Throws: ``ClusterConfigError`` when the file is missing, unreadable or empty.
    public func readSecret() throws(ClusterConfigError) -> [UInt8] {
        guard FileManager.default.fileExists(atPath: self.secretFile) else {
            throw ClusterConfigError.secretMissing(path: self.secretFile)
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: self.secretFile))
        } catch {
            throw ClusterConfigError.secretUnreadable(
                path: self.secretFile, reason: ConfigPath.describe(readError: error, path: self.secretFile))
        }
        var bytes = [UInt8](data)
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") {
            bytes.removeLast()
        }
        guard !bytes.isEmpty else { throw ClusterConfigError.secretEmpty(path: self.secretFile) }
        return bytes
    }
}
