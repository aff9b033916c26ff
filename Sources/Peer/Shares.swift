import PeerControl
import Swarm
import Wire

/// What this peer shares, by group and file id, as its state keeps it, and the served side of each in the
/// ``Library``: adding a share serves it, removing one stops serving it and ends its downloaders' connections. The
/// same file shared in two groups is two shares.
struct Shares {
    private struct Key: Hashable {
        let group: String
        let fileID: String
    }

    private var byKey: [Key: ShareRecord] = [:]
    private let library: Library

    init(library: Library) {
        self.library = library
    }

    var count: Int { self.byKey.count }

    /// Every share.
    var records: [ShareRecord] { Array(self.byKey.values) }

    /// The share of `name` in `group`, if this peer has one.
    func record(named name: String, in group: String) -> ShareRecord? {
        self.byKey.values.first { $0.group == group && $0.name == name }
    }

    /// Whether this peer shares the file with id `fileID` in `group`.
    func contains(fileID: String, in group: String) -> Bool {
        self.byKey[Key(group: group, fileID: fileID)] != nil
    }

    /// The share of the file with id `fileID` in `group`.
    func record(fileID: String, in group: String) -> ShareRecord? {
        self.byKey[Key(group: group, fileID: fileID)]
    }

    /// Records `record` and serves its file, every piece of it, unless it is broken.
    mutating func add(_ record: ShareRecord) {
        self.byKey[Key(group: record.group, fileID: record.fileID)] = record
        guard record.broken == nil else { return }
        let layout = PieceLayout(fileSize: record.size, pieceSize: record.pieceSize)
        self.library.add(
            ServedFile(
                fileID: Hex.decode(Substring(record.fileID)) ?? [], group: record.group, name: record.name,
                layout: layout, source: .shared(path: record.path, identity: record.identity),
                present: Bitfield(count: layout.pieceCount, full: true)))
    }

    /// Stops sharing `record`: it is no longer served, and the connections downloading it end.
    mutating func remove(_ record: ShareRecord) {
        self.byKey[Key(group: record.group, fileID: record.fileID)] = nil
        self.library.remove(record.fileID, in: record.group)?.disconnectAll(
            "\(record.name) is no longer shared by this peer")
    }

    /// Marks `record` broken for `reason`: no longer served, its downloaders told why; it stays listed.
    mutating func markBroken(_ record: ShareRecord, _ reason: String) {
        var broken = record
        broken.broken = reason
        self.byKey[Key(group: record.group, fileID: record.fileID)] = broken
        self.library.remove(record.fileID, in: record.group)?.disconnectAll(
            "\(record.name) is no longer served by this peer: \(reason)")
    }

    /// Each share with what was served of it, by group and name.
    var statuses: [ShareStatus] {
        self.byKey.values.map(self.status).sorted { ($0.group, $0.name) < ($1.group, $1.name) }
    }

    /// `record` with what was served of it.
    func status(_ record: ShareRecord) -> ShareStatus {
        let served = self.library.file(id: record.fileID, in: record.group)?.served ?? (pieces: 0, bytes: 0)
        return ShareStatus(
            group: record.group, name: record.name, path: record.path, fileID: record.fileID, size: record.size,
            piecesServed: served.pieces, bytesServed: served.bytes, broken: record.broken)
    }
}
