import Yams

/// A node of the YAML tree together with its key path and line, so every check can say where it failed.
struct ConfigNode {
    let node: Node
    /// `cluster.piece_size`, `trackers[1]`; empty for the root.
    let path: String
    /// The line of the key that introduced the node, else the node's own line.
    let line: Int?

    init(root: Node) {
        self.node = root
        self.path = ""
        self.line = root.mark?.line ?? 1
    }

    private init(node: Node, path: String, line: Int?) {
        self.node = node
        self.path = path
        self.line = line
    }

    /// The line of the value itself, the most precise place to point at for a bad value.
    var valueLine: Int? { self.node.mark?.line ?? self.line }

    /// Whether the value is YAML null: `key:` with nothing after it, `~` or `null`.
    var isNull: Bool {
        guard case .scalar(let scalar) = self.node else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// What kind of value this is, for "expected X, found Y".
    var kind: String {
        switch self.node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar: self.isNull ? "nothing" : "'\(self.node.scalar?.string ?? "")'"
        }
    }

    func child(_ key: String, node: Node, keyLine: Int?) -> ConfigNode {
        ConfigNode(node: node, path: self.path.isEmpty ? key : "\(self.path).\(key)", line: keyLine)
    }

    /// The key's mapping, after checking that it holds only `allowed` keys (the YAML parser refuses repeated keys).
    func mapping(allowed: [String]) throws(ClusterConfigError) -> ConfigMapping {
        guard case .mapping(let mapping) = self.node else {
            throw self.wrongType(expected: "a mapping of keys")
        }
        var entries: [String: ConfigNode] = [:]
        for (key, value) in mapping {
            let keyLine = key.mark?.line
            guard case .scalar(let scalar) = key else {
                throw ClusterConfigError.wrongType(
                    self.path, line: keyLine, expected: "a name as key", found: "a structure")
            }
            let name = scalar.string
            let child = self.child(name, node: value, keyLine: keyLine)
            guard allowed.contains(name) else {
                throw ClusterConfigError.unknownKey(child.path, line: keyLine, allowed: allowed)
            }
            entries[name] = child
        }
        return ConfigMapping(owner: self, entries: entries)
    }

    /// The items of a list, each with its index in the key path.
    func sequence() throws(ClusterConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = self.node else { throw self.wrongType(expected: "a list") }
        return sequence.enumerated().map { index, item in
            ConfigNode(node: item, path: "\(self.path)[\(index)]", line: item.mark?.line ?? self.line)
        }
    }

    /// The text of a scalar value; null and structures are wrong types.
    func string() throws(ClusterConfigError) -> String {
        guard case .scalar(let scalar) = self.node, !self.isNull else { throw self.wrongType(expected: "a value") }
        return scalar.string
    }

    /// A non-empty string.
    func name() throws(ClusterConfigError) -> String {
        let text = try self.string()
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ClusterConfigError.emptyValue(self.path, line: self.valueLine)
        }
        return text
    }

    /// A whole number in `range`.
    func integer(in range: ClosedRange<Int>) throws(ClusterConfigError) -> Int {
        let text = try self.string()
        guard let value = HumanUnits.integer(text) else {
            throw ClusterConfigError.badInteger(self.path, line: self.valueLine, text: text)
        }
        try self.check(value, in: range, shown: String(value))
        return value
    }

    /// A size in bytes in `range`, written as `512KiB`, `16MiB` or plain bytes.
    func size(in range: ClosedRange<Int>) throws(ClusterConfigError) -> Int {
        let text = try self.string()
        guard let value = HumanUnits.size(text) else {
            throw ClusterConfigError.badSize(self.path, line: self.valueLine, text: text)
        }
        try self.check(value, in: range, shown: "\(value) bytes")
        return value
    }

    /// A positive duration, written as `100ms`, `1.5s` or `2m`.
    func duration() throws(ClusterConfigError) -> Duration {
        let text = try self.string()
        guard let value = HumanUnits.duration(text), value > .zero else {
            throw ClusterConfigError.badDuration(self.path, line: self.valueLine, text: text)
        }
        return value
    }

    func check(_ value: Int, in range: ClosedRange<Int>, shown: String) throws(ClusterConfigError) {
        guard range.contains(value) else {
            throw ClusterConfigError.outOfRange(
                self.path, line: self.valueLine, value: shown, allowed: HumanUnits.describe(range))
        }
    }

    func wrongType(expected: String) -> ClusterConfigError {
        ClusterConfigError.wrongType(self.path, line: self.valueLine, expected: expected, found: self.kind)
    }
}

/// The checked keys of one mapping.
struct ConfigMapping {
    let owner: ConfigNode
    let entries: [String: ConfigNode]

    /// The value of a key that must be present.
    func required(_ key: String) throws(ClusterConfigError) -> ConfigNode {
        guard let node = self.entries[key] else {
            let path = self.owner.path.isEmpty ? key : "\(self.owner.path).\(key)"
            throw ClusterConfigError.missingKey(path, line: self.owner.line)
        }
        return node
    }

    /// The value of a key that may be absent.
    func optional(_ key: String) -> ConfigNode? {
        self.entries[key]
    }

    /// An optional section: absent and null both mean "all defaults".
    func section(_ key: String, allowed: [String]) throws(ClusterConfigError) -> ConfigMapping? {
        guard let node = self.entries[key], !node.isNull else { return nil }
        return try node.mapping(allowed: allowed)
    }
}
