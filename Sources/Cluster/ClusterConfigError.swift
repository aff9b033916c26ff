import Yams

/// A mistake in `cluster.yaml` or in the files it names.
///
/// Each error names the file (when known), the key path (`trackers[1].client_port`), the line, what is wrong and
/// what to do; ``description`` puts them together as `cluster.yaml:12: trackers[1].client_port: ...`.
public struct ClusterConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case unreadable(reason: String)
        case syntax(problem: String)
        case empty
        case missingKey(key: String)
        case unknownKey(allowed: [String])
        case duplicateKey
        case wrongType(expected: String, found: String)
        case badInteger(text: String)
        case badSize(text: String)
        case badDuration(text: String)
        case outOfRange(value: String, allowed: String)
        case notPowerOfTwo(value: Int)
        case emptyValue
        case badTrackerID(id: String)
        case trackerCount(count: Int)
        case duplicateTrackerID(id: String, firstPath: String)
        case badPeerUser(user: String)
        case duplicatePeer(user: String, host: String, otherPath: String)
        case duplicatePort(port: Int, host: String, otherPath: String)
        case timeoutNotAboveHeartbeat
        case bufferBelowFrame
        case secretMissing(path: String)
        case secretUnreadable(path: String, reason: String)
        case secretEmpty(path: String)
    }

    private let base: Base
    /// Where in the YAML the mistake is, as `section.key` or `trackers[1].client_port`; empty for the whole file.
    public let keyPath: String
    /// The 1-based line of the mistake, when it has one.
    public let line: Int?
    /// The absolute path of the file, when the error came from ``ClusterConfig/load(path:)``.
    public private(set) var file: String?

    private init(_ base: Base, keyPath: String = "", line: Int? = nil) {
        self.base = base
        self.keyPath = keyPath
        self.line = line
        self.file = nil
    }

    /// The file could not be read.
    public static func unreadable(reason: String) -> Self { Self(.unreadable(reason: reason)) }
    /// The text is not valid YAML.
    public static func syntax(problem: String, line: Int?) -> Self { Self(.syntax(problem: problem), line: line) }
    /// The text holds no YAML document.
    public static let empty = Self(.empty, line: 1)
    /// A required key is absent; `keyPath` names it and `line` is that of the mapping that lacks it.
    public static func missingKey(_ keyPath: String, line: Int?) -> Self {
        Self(.missingKey(key: String(keyPath.split(separator: ".").last ?? "")), keyPath: keyPath, line: line)
    }
    /// A key Tandem does not know; `allowed` lists the keys valid at that level.
    public static func unknownKey(_ keyPath: String, line: Int?, allowed: [String]) -> Self {
        Self(.unknownKey(allowed: allowed), keyPath: keyPath, line: line)
    }
    /// A key given twice in one mapping; YAML's parser reports the key's name and its first line, not its path.
    public static func duplicateKey(_ key: String, line: Int?) -> Self {
        Self(.duplicateKey, keyPath: key, line: line)
    }
    /// A value of the wrong kind, such as a list where a number belongs.
    public static func wrongType(_ keyPath: String, line: Int?, expected: String, found: String) -> Self {
        Self(.wrongType(expected: expected, found: found), keyPath: keyPath, line: line)
    }
    /// A value that is not a whole number.
    public static func badInteger(_ keyPath: String, line: Int?, text: String) -> Self {
        Self(.badInteger(text: text), keyPath: keyPath, line: line)
    }
    /// A value that is not a size such as `512KiB`.
    public static func badSize(_ keyPath: String, line: Int?, text: String) -> Self {
        Self(.badSize(text: text), keyPath: keyPath, line: line)
    }
    /// A value that is not a duration such as `100ms`.
    public static func badDuration(_ keyPath: String, line: Int?, text: String) -> Self {
        Self(.badDuration(text: text), keyPath: keyPath, line: line)
    }
    /// A number outside the range the key allows, such as a port above 65535.
    public static func outOfRange(_ keyPath: String, line: Int?, value: String, allowed: String) -> Self {
        Self(.outOfRange(value: value, allowed: allowed), keyPath: keyPath, line: line)
    }
    /// A piece size that is not a power of two.
    public static func notPowerOfTwo(_ keyPath: String, line: Int?, value: Int) -> Self {
        Self(.notPowerOfTwo(value: value), keyPath: keyPath, line: line)
    }
    /// An empty string where a name is needed.
    public static func emptyValue(_ keyPath: String, line: Int?) -> Self {
        Self(.emptyValue, keyPath: keyPath, line: line)
    }
    /// A tracker id with characters other than letters, digits, `-` and `_`.
    public static func badTrackerID(_ keyPath: String, line: Int?, id: String) -> Self {
        Self(.badTrackerID(id: id), keyPath: keyPath, line: line)
    }
    /// A peer's `user` that is not a system account name.
    public static func badPeerUser(_ keyPath: String, line: Int?, user: String) -> Self {
        Self(.badPeerUser(user: user), keyPath: keyPath, line: line)
    }
    /// Two peers with the same user on the same host; `otherPath` is the first.
    public static func duplicatePeer(_ keyPath: String, line: Int?, user: String, host: String, otherPath: String)
        -> Self
    {
        Self(.duplicatePeer(user: user, host: host, otherPath: otherPath), keyPath: keyPath, line: line)
    }
    /// A `trackers` list that does not hold exactly two trackers.
    public static func trackerCount(_ keyPath: String, line: Int?, count: Int) -> Self {
        Self(.trackerCount(count: count), keyPath: keyPath, line: line)
    }
    /// Two trackers with the same id; `firstPath` is where the id first appears.
    public static func duplicateTrackerID(_ keyPath: String, line: Int?, id: String, firstPath: String) -> Self {
        Self(.duplicateTrackerID(id: id, firstPath: firstPath), keyPath: keyPath, line: line)
    }
    /// A port that another key already uses on the same host.
    public static func duplicatePort(_ keyPath: String, line: Int?, port: Int, host: String, otherPath: String) -> Self
    {
        Self(.duplicatePort(port: port, host: host, otherPath: otherPath), keyPath: keyPath, line: line)
    }
    /// A failover timeout not longer than the heartbeat.
    public static func timeoutNotAboveHeartbeat(_ keyPath: String, line: Int?) -> Self {
        Self(.timeoutNotAboveHeartbeat, keyPath: keyPath, line: line)
    }
    /// `limits.max_buffered_input` is smaller than `limits.max_frame`, so a largest frame could never be read.
    public static func bufferBelowFrame(_ keyPath: String, line: Int?) -> Self {
        Self(.bufferBelowFrame, keyPath: keyPath, line: line)
    }
    /// The secret file does not exist.
    public static func secretMissing(path: String) -> Self {
        Self(.secretMissing(path: path), keyPath: "cluster.secret_file")
    }
    /// The secret file exists but cannot be read.
    public static func secretUnreadable(path: String, reason: String) -> Self {
        Self(.secretUnreadable(path: path, reason: reason), keyPath: "cluster.secret_file")
    }
    /// The secret file holds nothing but newlines.
    public static func secretEmpty(path: String) -> Self {
        Self(.secretEmpty(path: path), keyPath: "cluster.secret_file")
    }

    /// Wraps a Yams parse error, keeping its line.
    static func syntax(_ error: YamlError) -> Self {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let text = context.map { "\($0.text) \(problem)" } ?? problem
            return .syntax(problem: text, line: mark.line)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .duplicateKey(duplicates.first ?? "", line: context.mark.line)
        default:
            return .syntax(problem: String(describing: error), line: nil)
        }
    }

    /// The same error, naming the file it came from.
    func inFile(_ path: String) -> Self {
        var copy = self
        copy.file = path
        return copy
    }

    public var description: String {
        var location = self.file ?? ""
        if let line = self.line {
            location += location.isEmpty ? "line \(line)" : ":\(line)"
        }
        let key = self.keyPath.isEmpty ? "" : "\(self.keyPath): "
        return (location.isEmpty ? "" : "\(location): ") + key + self.problem
    }

    private var problem: String {
        switch self.base {
        case .unreadable(let reason):
            "cannot read the cluster configuration: \(reason); pass --config PATH or set TANDEM_CONFIG"
        case .syntax(let problem):
            "not valid YAML: \(problem); fix the syntax at this line"
        case .empty:
            "the file holds no configuration; start from the example in DESIGN.md"
        case .missingKey(let key):
            "required key is missing; add `\(key):` here"
        case .unknownKey(let allowed):
            "unknown key; the keys allowed here are \(allowed.joined(separator: ", "))"
        case .duplicateKey:
            "key appears more than once in the same mapping (first here); keep one"
        case .wrongType(let expected, let found):
            "expected \(expected), found \(found)"
        case .badInteger(let text):
            "'\(text)' is not a whole number; write digits only"
        case .badSize(let text):
            "'\(text)' is not a size; write bytes (65536) or a number with KiB, MiB, GiB (powers of 1024) "
                + "or KB, MB, GB (powers of 1000), such as 512KiB"
        case .badDuration(let text):
            "'\(text)' is not a duration; write a positive number with ns, us, ms, s, m or h, such as 100ms or 1.5s"
        case .outOfRange(let value, let allowed):
            "\(value) is out of range; use \(allowed)"
        case .notPowerOfTwo(let value):
            "\(value) bytes is not a power of two; use 16KiB, 32KiB, ..., 512KiB, ..., 16MiB"
        case .emptyValue:
            "must not be empty; give it a name"
        case .badTrackerID(let id):
            "'\(id)' is not a valid tracker id; use letters, digits, '-' and '_' only"
        case .badPeerUser(let user):
            "'\(user)' is not a system account name; use lowercase letters, digits, '_' and '-', starting with a "
                + "letter or '_', at most 32"
        case .duplicatePeer(let user, let host, let otherPath):
            "\(otherPath) already runs a peer daemon as \(user) on \(host); one per user and host"
        case .trackerCount(let count):
            "lists \(count) tracker\(count == 1 ? "" : "s"); a cluster has exactly two, primary first"
        case .duplicateTrackerID(let id, let firstPath):
            "tracker id '\(id)' is already used by \(firstPath); give each tracker its own id"
        case .duplicatePort(let port, let host, let otherPath):
            "port \(port) on \(host) is already used by \(otherPath); give each port its own number"
        case .timeoutNotAboveHeartbeat:
            "must be longer than replication.heartbeat, or a healthy primary would be replaced"
        case .bufferBelowFrame:
            "must be at least limits.max_frame, or a frame of the largest size could never be read"
        case .secretMissing(let path):
            "secret file \(path) does not exist; run `tandemctl up` to create one, "
                + "or write 32 random bytes in hex to it with mode 0600"
        case .secretUnreadable(let path, let reason):
            "cannot read secret file \(path): \(reason); check its owner and mode (0600)"
        case .secretEmpty(let path):
            "secret file \(path) is empty; write 32 random bytes in hex to it, the same on every tracker"
        }
    }
}
