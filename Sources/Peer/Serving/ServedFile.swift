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

    /// What a served file tells the connection of each of its downloaders; the connection's handler writes it.
    enum Notice: Sendable {
        /// This peer verified one more piece.
        case have(UInt32)
        /// Another downloader that serves the file connected.
        case peers([PeerAddress])
        /// The file is no longer served, for this reason.
        case withdrawn(String)
    }

    private struct Downloader: Sendable {
        let address: PeerAddress?
        let notify: @Sendable (Notice) -> Void
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
            downloader.notify(.have(UInt32(index)))
        }
    }

    /// Registers an admitted downloader's connection, `connection`, which `notify` reaches (on any thread);
    /// returns the other downloaders that serve, for its welcome, and tells them about it when it serves too.
    func admit(
        _ connection: ObjectIdentifier, serving address: PeerAddress?, notify: @escaping @Sendable (Notice) -> Void
    ) -> [PeerAddress] {
        let others = self.downloaders.withLock { downloaders in
            downloaders[connection] = Downloader(address: address, notify: notify)
            return downloaders.filter { $0.key != connection }.map(\.value)
        }
        if let address {
            for other in others { other.notify(.peers([address])) }
        }
        return others.compactMap(\.address)
    }

    /// Forgets a downloader whose connection closed.
    func release(_ connection: ObjectIdentifier) {
        _ = self.downloaders.withLock { $0.removeValue(forKey: connection) }
    }

    /// Ends every downloader's connection with `reason` (the file is no longer shared).
    func disconnectAll(_ reason: String) {
        for downloader in self.downloaders.withLock({ Array($0.values) }) {
            downloader.notify(.withdrawn(reason))
        }
    }
}

extension ServedFile: ServablePieces {}

/// The files this peer serves, by group and id: the same file shared in two groups is served in each, to that
/// group's members. Shared by every connection, on any thread.
final class Library: ServableCatalog, Sendable {
    private struct Key: Hashable {
        let group: String
        let fileIDHex: String
    }

    private let files = Mutex<[Key: ServedFile]>([:])
    private let lost: AsyncStream<LostSource>.Continuation
    /// Shared files found deleted, moved or changed when a connection opened them: the daemon marks their
    /// shares broken.
    let lostSources: AsyncStream<LostSource>

    /// A shared file that could not be served, and why.
    struct LostSource: Sendable {
        let group: String
        let fileIDHex: String
        let reason: String
    }

    init() {
        (self.lostSources, self.lost) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
    }

    /// Ends ``lostSources``.
    func finish() {
        self.lost.finish()
    }

    /// `file`, a shared one, could not be opened for `reason`.
    func reportLost(_ file: ServedFile, _ reason: String) {
        guard case .shared = file.source else { return }
        self.lost.yield(LostSource(group: file.group, fileIDHex: file.fileIDHex, reason: reason))
    }

    func add(_ file: ServedFile) {
        self.files.withLock { $0[Key(group: file.group, fileIDHex: file.fileIDHex)] = file }
    }

    @discardableResult
    func remove(_ fileIDHex: String, in group: String) -> ServedFile? {
        self.files.withLock { $0.removeValue(forKey: Key(group: group, fileIDHex: fileIDHex)) }
    }

    func file(id fileIDHex: String, in group: String) -> ServedFile? {
        self.files.withLock { $0[Key(group: group, fileIDHex: fileIDHex)] }
    }

    /// The file `text` names in `group`: by id, or by name.
    func file(named text: String, in group: String) -> ServedFile? {
        self.files.withLock { files in
            if let file = files[Key(group: group, fileIDHex: text.lowercased())] { return file }
            return files.values.first { $0.group == group && $0.name == text }
        }
    }

    var all: [ServedFile] { self.files.withLock { Array($0.values) } }
}
