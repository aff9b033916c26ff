import Cluster
import Foundation
import Logging
import NIOCore
import NIOPosix
import Swarm
import TandemCrypto
import TrackerClient
import Wire

/// A user's peer daemon: serves what the user shares and downloads, runs downloads, and takes `tandemctl`'s
/// commands. Its state lives under `home`, so it goes on seeding and downloading after a restart.
public actor PeerDaemon {
    private let config: ClusterConfig
    private let home: String
    private let group: MultiThreadedEventLoopGroup
    private let client: ClusterClient
    private let sessions: SessionStore
    private let store: PeerStore
    private let library = Library()
    private let logger: Logger
    private var server: PeerServer?
    private var shares: [String: ShareRecord] = [:]
    private var downloads: [String: Download] = [:]
    private var stopped: CheckedContinuation<Void, Never>?
    private var isStopping = false

    public init(config: ClusterConfig, home: String, group: MultiThreadedEventLoopGroup, logger: Logger) {
        self.config = config
        self.home = home
        self.group = group
        var client = ClusterClient(config: config, group: group)
        client.programName = "tandemd peer"
        self.client = client
        self.sessions = SessionStore(home: home)
        self.store = PeerStore(home: home)
        self.logger = logger
    }

    /// Serves on `host:port`, takes commands on `<home>/peer/peer.sock`, and returns once stopped.
    ///
    /// - Throws: ``TrackerClient/ClientError/usage(_:)`` when the home or its state directory is not the user's own.
    public func run(host: String, port: Int) async throws {
        // Everything the daemon trusts is under the home: nobody else may be able to change it.
        try PrivateFile.makeOwnDirectory(self.home)
        try PrivateFile.makeOwnDirectory(self.store.directory)
        chmod(self.store.directory, 0o700)
        let checker = AccessChecker(client: self.client, sessions: self.sessions)
        let server = try await PeerServer.start(
            host: host, port: port, group: self.group, library: self.library, checker: checker,
            maxPeers: self.config.swarm.maxPeers, maxPeersPerAddress: self.config.swarm.maxPeersPerAddress,
            peerTimeout: .nanoseconds(Int64(self.config.swarm.peerTimeout.components.seconds) * 1_000_000_000))
        self.server = server
        let control = try await ControlServer.start(
            path: ControlRequest.socketPath(home: self.home), group: self.group, daemon: self)
        self.logger.info("peer daemon serving on port \(server.port), commands on \(control.path)")
        try self.restore()
        await withCheckedContinuation { self.stopped = $0 }
        for download in self.downloads.values {
            try? await download.loop.submit { download.stop() }.get()
        }
        await control.stop()
        await server.stop()
    }

    // MARK: Commands

    /// Answers one command; `progress` receives progress lines before the answer.
    func handle(_ request: ControlRequest, progress: @escaping @Sendable (ControlReply) -> Void) async -> ControlReply {
        do {
            switch request {
            case .share(let group, let path):
                return .shared(try await self.share(group: group, path: path, progress: progress))
            case .download(let group, let name, let to):
                return .downloadStarted(try await self.download(group: group, name: name, to: to))
            case .downloads:
                return .downloads(await self.downloadStatuses())
            case .awaitDownload(let fileID, let milliseconds):
                guard let download = self.downloads[fileID] else {
                    throw PeerError("no download of file \(fileID.prefix(40)) here; tandemctl downloads lists them")
                }
                let within = TimeAmount.milliseconds(Int64(min(max(milliseconds, 0), 60_000)))
                return .download(
                    try await download.loop.flatSubmit { download.statusWhenEnded(within: within) }.get())
            case .shares:
                return .shares(self.shareStatuses())
            case .stopShare(let group, let name):
                try await self.stopShare(group: group, name: name)
                return .done
            case .status:
                return .status(
                    DaemonStatus(
                        pid: getpid(), port: self.server?.port ?? 0, shares: self.shares.count,
                        downloads: self.downloads.count))
            case .stop:
                self.stop()
                return .done
            }
        } catch let error as PeerError {
            return .failed(message: error.description, exitCode: error.exitCode)
        } catch let error as ClientError {
            return .failed(message: error.description, exitCode: error.exitCode)
        } catch {
            return .failed(message: "\(error)", exitCode: 1)
        }
    }

    /// Stops the daemon: `run` returns.
    public func stop() {
        guard !self.isStopping else { return }
        self.isStopping = true
        self.stopped?.resume()
        self.stopped = nil
    }

    // MARK: Share

    private func share(
        group: String, path: String, progress: @escaping @Sendable (ControlReply) -> Void
    ) async throws -> ShareStatus {
        let token = try self.token()
        let name = (path as NSString).lastPathComponent
        guard self.shares.values.first(where: { $0.group == group && $0.name == name }) == nil else {
            throw PeerError("this peer already shares \(name) in \(group)")
        }
        let file = try PieceFile.openForReading(path)
        guard try file.isRegularFile() else { throw PeerError("\(path) is not a regular file") }
        // Served from where it really is, and only while that is still the file hashed here.
        guard let resolved = realpath(path, nil) else { throw PeerError.io("resolve", path) }
        let realPath = String(cString: resolved)
        free(resolved)
        let identity = try file.identity()
        let layout = PieceLayout(fileSize: identity.size, pieceSize: self.config.pieceSize)
        let digests = try await self.hash(file, layout: layout, progress: progress)
        let hashes = PieceHashes(bytes: digests.flatMap { $0 })!
        let port = UInt16(self.server?.port ?? 0)
        let reply = try await self.client.send(
            .uploadFile(group: group, name: name, size: identity.size, pieceHashes: hashes, port: port), session: token)
        let fileID: String
        if case .error(.exists, _) = reply {
            // The group has a file by that name: the same bytes mean this peer seeds it too.
            let existing = try await self.client.send(.downloadFile(group: group, name: name), session: token)
            let info = try existing.expectFileInfo()
            let ours = Hex.encode(Crypto.sha1(hashes.bytes))
            guard info.fileID == ours else {
                throw PeerError("\(group) already has a different file named \(name); rename yours to share it")
            }
            try await self.client.send(.newSeeder(group: group, name: name, port: port), session: token).expectOK()
            fileID = ours
        } else {
            fileID = try reply.expectFileID()
        }
        let record = ShareRecord(
            group: group, name: name, path: realPath, fileID: fileID, size: identity.size,
            pieceSize: layout.pieceSize, identity: identity)
        self.addShare(record)
        try self.saveShares()
        return self.shareStatus(record)
    }

    /// Hashes on every core off the actor, sending progress every 100 ms.
    private func hash(
        _ file: PieceFile, layout: PieceLayout, progress: @escaping @Sendable (ControlReply) -> Void
    ) async throws -> [[UInt8]] {
        let meter = HashProgress(total: layout.fileSize)
        let reporter = Task {
            while !Task.isCancelled {
                progress(.progress(WorkProgress(done: meter.bytes.load(ordering: .relaxed), total: meter.total)))
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { reporter.cancel() }
        let threads = System.coreCount
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result { () throws(PeerError) in
                        try PieceHasher.digests(
                            of: file, layout: layout, pieces: Array(0..<layout.pieceCount), threads: threads,
                            progress: meter)
                    })
            }
        }
    }

    private func addShare(_ record: ShareRecord) {
        self.shares[record.fileID] = record
        let layout = PieceLayout(fileSize: record.size, pieceSize: record.pieceSize)
        self.library.add(
            ServedFile(
                fileID: Hex.decode(Substring(record.fileID)) ?? [], group: record.group, name: record.name,
                layout: layout, source: .shared(path: record.path, identity: record.identity),
                present: Bitfield(count: layout.pieceCount, full: true)))
    }

    private func stopShare(group: String, name: String) async throws {
        guard let record = self.shares.values.first(where: { $0.group == group && $0.name == name }) else {
            throw PeerError("this peer does not share \(name) in \(group); tandemctl shares lists what it does")
        }
        self.shares[record.fileID] = nil
        self.library.remove(record.fileID)?.disconnectAll("\(name) is no longer shared by this peer")
        try self.saveShares()
        let reply = try await self.client.send(.stopShare(group: group, name: name), session: try self.token())
        if case .error(let code, _) = reply, code == .notFound || code == .forbidden { return }
        try reply.expectOK()
    }

    private func saveShares() throws {
        try self.store.saveShares(Array(self.shares.values))
    }

    private func shareStatuses() -> [ShareStatus] {
        self.shares.values.map(self.shareStatus).sorted { ($0.group, $0.name) < ($1.group, $1.name) }
    }

    private func shareStatus(_ record: ShareRecord) -> ShareStatus {
        let served = self.library.file(id: record.fileID)?.served ?? (pieces: 0, bytes: 0)
        return ShareStatus(
            group: record.group, name: record.name, path: record.path, fileID: record.fileID, size: record.size,
            piecesServed: served.pieces, bytesServed: served.bytes)
    }

    // MARK: Download

    private func download(group: String, name: String, to directory: String) async throws -> DownloadStatus {
        let token = try self.token()
        let reply = try await self.client.send(.downloadFile(group: group, name: name), session: token)
        let info = try reply.expectFileInfo()
        if let running = self.downloads[info.fileID] {
            let status = try await running.loop.submit { running.status }.get()
            guard status.state.hasEnded else { return status }
            self.downloads[info.fileID] = nil
            if status.state == .failed,
                let saved = try self.store.loadDownloads().first(where: { $0.0.fileID == info.fileID })
            {
                return try await self.resume(saved.0, haveBytes: saved.have)
            }
        }
        if self.shares[info.fileID] != nil {
            throw PeerError("this peer shares \(name) already (tandemctl shares shows where)")
        }
        let target = directory + "/" + name
        if FileManager.default.fileExists(atPath: target) {
            throw PeerError("\(target) exists; move it away or download elsewhere with --to DIR")
        }
        var record = DownloadRecord(
            group: group, name: name, fileID: info.fileID, size: info.size, pieceSize: Int(info.pieceSize),
            pieceHashes: Hex.encode(info.pieceHashes.bytes), target: target)
        let part = try PieceFile.createPart(record.part, size: record.size)
        record.partIdentity = try part.identity()
        try self.store.saveDownload(record)
        return try await self.begin(
            record, hashes: info.pieceHashes, have: Bitfield(count: record.layout.pieceCount), part: part, token: token)
    }

    private func begin(
        _ record: DownloadRecord, hashes: PieceHashes, have: Bitfield, part: PieceFile, token: String
    ) async throws -> DownloadStatus {
        let user = try await self.user(token)
        let environment = DownloadEnvironment(
            client: self.client, token: token, user: user, listenPort: UInt16(self.server?.port ?? 0),
            library: self.library, store: self.store,
            policy: .forPieceSize(
                record.pieceSize, bytesInFlight: self.config.swarm.inFlight, peerTimeout: self.config.swarm.peerTimeout),
            logger: self.logger,
            completed: { record, identity in Task { await self.completed(record, identity: identity) } })
        let loop = self.group.next()
        let download = Download(
            record: record, hashes: hashes, have: have, part: part, loop: loop, environment: environment)
        self.downloads[record.fileID] = download
        return try await loop.submit {
            download.start()
            return download.status
        }.get()
    }

    /// A download finished: the file is shared from its new place, as the file the download wrote (`identity`),
    /// and the tracker lists this peer as a seeder.
    private func completed(_ record: DownloadRecord, identity: FileIdentity) async {
        self.store.removeDownload(record.fileID)
        do {
            let share = ShareRecord(
                group: record.group, name: record.name, path: record.target, fileID: record.fileID, size: record.size,
                pieceSize: record.pieceSize, identity: identity)
            self.addShare(share)
            try self.saveShares()
            try await self.announce(share)
            self.logger.info("downloaded \(record.name) of \(record.group) to \(record.target); seeding it")
        } catch {
            self.logger.error("downloaded \(record.name) but cannot seed it: \(error)")
        }
    }

    private func downloadStatuses() async -> [DownloadStatus] {
        var statuses: [DownloadStatus] = []
        for download in self.downloads.values {
            if let status = try? await download.loop.submit({ download.status }).get() { statuses.append(status) }
        }
        return statuses.sorted { ($0.group, $0.name) < ($1.group, $1.name) }
    }

    // MARK: Restart

    /// Serves the shares again (those whose file is unchanged), re-registers as their seeder, and resumes the
    /// downloads from their verified pieces, checked again from disk.
    private func restore() throws {
        for var record in try self.store.loadShares() {
            guard let file = try? PieceFile.reopenShared(record.path, identity: record.identity),
                let identity = try? file.identity()
            else {
                self.logger.warning(
                    "\(record.path) changed or is gone since it was shared; no longer sharing \(record.name)")
                continue
            }
            // A record written before inodes were kept learns its file's.
            record.identity = identity
            self.addShare(record)
        }
        try self.saveShares()
        for share in self.shares.values {
            Task { try? await self.announce(share) }
        }
        for (record, haveBytes) in try self.store.loadDownloads() {
            Task {
                do {
                    _ = try await self.resume(record, haveBytes: haveBytes)
                } catch {
                    self.logger.error("cannot resume the download of \(record.name): \(error)")
                }
            }
        }
    }

    /// Starts `record` again from the pieces its saved bitfield names that still pass their SHA1 on disk.
    private func resume(_ record: DownloadRecord, haveBytes: [UInt8]) async throws -> DownloadStatus {
        let token = try self.token()
        guard let bytes = Hex.decode(Substring(record.pieceHashes)), let hashes = PieceHashes(bytes: bytes) else {
            throw PeerError("the saved piece hashes of \(record.name) do not parse")
        }
        let layout = record.layout
        var record = record
        let part: PieceFile
        var info = stat()
        if lstat(record.part, &info) != 0 && errno == ENOENT {
            // The part file is gone: start it anew, as this download's own.
            part = try PieceFile.createPart(record.part, size: record.size)
        } else {
            part = try PieceFile.reopenPart(record.part, identity: record.partIdentity, size: record.size)
        }
        let partIdentity = try part.identity()
        if record.partIdentity.map(partIdentity.isSameFile) != true {
            record.partIdentity = partIdentity
            try self.store.saveDownload(record)
        }
        let claimed = Bitfield(bytes: haveBytes, count: layout.pieceCount)?.indexes ?? []
        let digests = try PieceHasher.digests(
            of: part, layout: layout, pieces: claimed, threads: System.coreCount, progress: HashProgress(total: 0))
        var have = Bitfield(count: layout.pieceCount)
        for (piece, digest) in zip(claimed, digests) where digest == Array(hashes[piece]) { have.insert(piece) }
        self.logger.info(
            "resuming \(record.name): \(have.setCount) of \(layout.pieceCount) pieces verified on disk")
        return try await self.begin(record, hashes: hashes, have: have, part: part, token: token)
    }

    /// Registers this peer as a seeder of `share` (the client retries while no tracker answers).
    private func announce(_ share: ShareRecord) async throws {
        let port = UInt16(self.server?.port ?? 0)
        let reply = try await self.client.send(
            .newSeeder(group: share.group, name: share.name, port: port), session: try self.token())
        try reply.expectOK()
    }

    // MARK: Session

    private func token() throws -> String {
        guard let token = try self.sessions.load() else { throw ClientError.notLoggedIn }
        return token
    }

    private func user(_ token: String) async throws -> String {
        let reply = try await self.client.send(.whoami, session: token)
        return try reply.expectUser()
    }
}
