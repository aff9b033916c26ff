import NIOCore
import Swarm
import Synchronization
import TandemCrypto
import Wire

/// A file this peer serves: one it shares (every piece) or one it is downloading (the pieces verified so far).
final class ServedFile: Sendable {
    let fileID: [UInt8]
    let fileIDHex: String
    let group: String
    let name: String
    let layout: PieceLayout
    /// Where the bytes are: the shared file, or the download's part file.
    let source: Source

    private let present: Mutex<Bitfield>
    /// Downloaders connected for this file: told of each new piece, and of each other (peer exchange).
    private let downloaders = Mutex<[ObjectIdentifier: Downloader]>([:])
    private let servedPieces = Atomic<Int>(0)
    private let servedBytes = Atomic<UInt64>(0)

    private struct Downloader: Sendable {
        let channel: any Channel
        let address: PeerAddress?
    }

    /// Where a served file's bytes come from.
    enum Source: Sendable {
        /// A shared file at `path`, served only while it is the file `identity` recorded when it was hashed.
        case shared(path: String, identity: FileIdentity)
        /// The part file a download holds open.
        case part(PieceFile)
    }

    init(fileID: [UInt8], group: String, name: String, layout: PieceLayout, source: Source, present: Bitfield) {
        self.fileID = fileID
        self.fileIDHex = Hex.encode(fileID)
        self.group = group
        self.name = name
        self.layout = layout
        self.source = source
        self.present = Mutex(present)
    }

    /// A descriptor of the file's bytes for one connection to serve from, which the caller closes: the shared file
    /// opened again and checked to be the one that was hashed, or a duplicate of the part file's descriptor.
    func openForServing() throws(PeerError) -> NIOFileHandle {
        switch self.source {
        case .shared(let path, let identity):
            let file = try PieceFile.reopenShared(path, identity: identity)
            return NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: try file.duplicateDescriptor())
        case .part(let part):
            return NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: try part.duplicateDescriptor())
        }
    }

    /// The pieces this peer can serve now.
    var bitfield: Bitfield { self.present.withLock { $0 } }

    /// Whether piece `index` can be served.
    func has(_ index: Int) -> Bool {
        index < self.layout.pieceCount && self.present.withLock { $0[index] }
    }

    /// Pieces and bytes sent to downloaders so far.
    var served: (pieces: Int, bytes: UInt64) {
        (self.servedPieces.load(ordering: .relaxed), self.servedBytes.load(ordering: .relaxed))
    }

    /// Counts `bytes` sent, completing a piece when `completesPiece`.
    func recordServed(bytes: Int, completesPiece: Bool) {
        self.servedBytes.add(UInt64(bytes), ordering: .relaxed)
        if completesPiece { self.servedPieces.add(1, ordering: .relaxed) }
    }

    /// Adds a verified piece and tells every connected downloader.
    func add(_ index: Int) {
        guard self.present.withLock({ $0.insert(index) }) else { return }
        for downloader in self.downloaders.withLock({ Array($0.values) }) {
            var frame = downloader.channel.allocator.buffer(capacity: 16)
            frame.writePeerReply(.have(UInt32(index)))
            downloader.channel.writeAndFlush(frame, promise: nil)
        }
    }

    /// Registers an admitted downloader; returns the other downloaders that serve, for its welcome, and tells
    /// them about it when it serves too.
    func admit(_ channel: any Channel, serving address: PeerAddress?) -> [PeerAddress] {
        let others = self.downloaders.withLock { downloaders in
            downloaders[ObjectIdentifier(channel)] = Downloader(channel: channel, address: address)
            return downloaders.filter { $0.key != ObjectIdentifier(channel) }.map(\.value)
        }
        if let address {
            for other in others {
                var frame = other.channel.allocator.buffer(capacity: 64)
                frame.writePeerReply(.peers([address]))
                other.channel.writeAndFlush(frame, promise: nil)
            }
        }
        return others.compactMap(\.address)
    }

    /// Forgets a downloader whose connection closed.
    func release(_ channel: any Channel) {
        _ = self.downloaders.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Closes every downloader's connection with `reason` (the file is no longer shared).
    func disconnectAll(_ reason: String) {
        for downloader in self.downloaders.withLock({ Array($0.values) }) {
            var frame = downloader.channel.allocator.buffer(capacity: 64 + reason.utf8.count)
            frame.writePeerReply(.error(code: .notFound, message: reason))
            downloader.channel.writeAndFlush(frame).whenComplete { _ in downloader.channel.close(promise: nil) }
        }
    }
}

/// The files this peer serves, by id. Shared by every connection, on any thread.
final class Library: Sendable {
    private let files = Mutex<[String: ServedFile]>([:])

    func add(_ file: ServedFile) {
        self.files.withLock { $0[file.fileIDHex] = file }
    }

    @discardableResult
    func remove(_ fileIDHex: String) -> ServedFile? {
        self.files.withLock { $0.removeValue(forKey: fileIDHex) }
    }

    func file(id fileIDHex: String) -> ServedFile? {
        self.files.withLock { $0[fileIDHex] }
    }

    /// The file `text` names in `group`: by id, or by name.
    func file(named text: String, in group: String) -> ServedFile? {
        self.files.withLock { files in
            if let file = files[text.lowercased()], file.group == group { return file }
            return files.values.first { $0.group == group && $0.name == text }
        }
    }

    var all: [ServedFile] { self.files.withLock { Array($0.values) } }
}
