import Foundation
import Swarm
import TandemCrypto
import TrackerClient
import Wire

/// A file this peer shares, as `shares.json` keeps it.
struct ShareRecord: Codable, Hashable, Sendable {
    var group: String
    var name: String
    var path: String
    var fileID: String
    var size: UInt64
    var pieceSize: Int
    /// The shared file's size and modification time when it was hashed.
    var identity: FileIdentity
    /// Why the share is broken (its file was deleted, moved or changed since it was hashed): it is no longer
    /// served nor advertised, and stays listed until `stop-share`. Nil while it is served.
    var broken: String?
}

/// A download in progress, as `downloads/<file id>.json` keeps it; the verified pieces are in `<file id>.have`.
struct DownloadRecord: Codable, Hashable, Sendable {
    var group: String
    var name: String
    var fileID: String
    var size: UInt64
    var pieceSize: Int
    /// The piece SHA1s, concatenated, in hex.
    var pieceHashes: String
    /// Where the file goes once complete.
    var target: String
    /// The part file this download created: only that file is written, resumed and moved into place. Nil in
    /// records written before it was kept.
    var partIdentity: FileIdentity?
    /// Whether its user paused it: it stays paused across restarts until resumed.
    var paused: Bool?

    /// The preallocated file the pieces are written into: `<target>.part`.
    var part: String { self.target + ".part" }

    var layout: PieceLayout { PieceLayout(fileSize: self.size, pieceSize: self.pieceSize) }
}

/// The peer daemon's state under `<home>/peer`: what it shares, what it downloads. Each file is replaced
/// atomically, so a daemon killed at any moment restarts from a consistent state.
struct PeerStore: Sendable {
    let directory: String

    init(home: String) {
        self.directory = home + "/peer"
    }

    private var sharesPath: String { self.directory + "/shares.json" }
    private var downloadsDirectory: String { self.directory + "/downloads" }

    func loadShares() throws(PeerError) -> [ShareRecord] {
        try self.load([ShareRecord].self, from: self.sharesPath) ?? []
    }

    func saveShares(_ shares: [ShareRecord]) throws(PeerError) {
        try self.save(shares.sorted { ($0.group, $0.name) < ($1.group, $1.name) }, to: self.sharesPath)
    }

    func loadDownloads() throws(PeerError) -> [(DownloadRecord, have: [UInt8])] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: self.downloadsDirectory)) ?? []
        var downloads: [(DownloadRecord, have: [UInt8])] = []
        for name in names.sorted() where name.hasSuffix(".json") {
            guard let record = try self.load(DownloadRecord.self, from: self.downloadsDirectory + "/" + name) else {
                continue
            }
            let have = FileManager.default.contents(atPath: self.havePath(record.fileID)).map { [UInt8]($0) } ?? []
            downloads.append((record, have))
        }
        return downloads
    }

    func saveDownload(_ record: DownloadRecord) throws(PeerError) {
        try self.save(record, to: self.downloadsDirectory + "/\(record.fileID).json")
    }

    func saveHave(_ fileID: String, _ have: Bitfield) throws(PeerError) {
        try Self.write(Data(have.bytes), to: self.havePath(fileID))
    }

    func removeDownload(_ fileID: String) {
        unlink(self.downloadsDirectory + "/\(fileID).json")
        unlink(self.havePath(fileID))
    }

    private func havePath(_ fileID: String) -> String { self.downloadsDirectory + "/\(fileID).have" }

    private func load<Value: Decodable>(_ type: Value.Type, from path: String) throws(PeerError) -> Value? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw .stateFile(path, "\(error)")
        }
    }

    private func save(_ value: some Encodable, to path: String) throws(PeerError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw .unencodable(path, "\(error)")
        }
        try Self.write(data, to: path)
    }

    /// Writes `data` to a new temporary file, syncs it and renames it over `path`, in a directory that must be
    /// this user's own.
    private static func write(_ data: Data, to path: String) throws(PeerError) {
        do throws(ClientError) {
            try PrivateFile.makeOwnDirectory((path as NSString).deletingLastPathComponent)
            try PrivateFile.write(bytes: [UInt8](data), to: path)
        } catch {
            throw .privateFile(error.description, exitCode: error.exitCode)
        }
    }
}
