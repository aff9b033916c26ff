import Foundation
import Logging
import NIOCore
import PeerControl
import Swarm
import TrackerClient
import Wire

extension PeerDaemon {
    /// Starts downloading `name` of `group` into `directory`, or answers with the download of it already running
    /// (resuming it when it had failed).
    func download(group: String, name: String, to directory: String) async throws -> DownloadStatus {
        let token = try self.token()
        let info = try await self.client.fileInfo(group: group, name: name, session: token)
        if let running = self.downloads[info.fileID] {
            let status = try await running.loop.submit { running.status }.get()
            let sameGroup = running.record.group == group
            guard status.state.hasEnded else {
                // The daemon keeps one download per file; the same file in another group waits for it.
                if sameGroup { return status }
                throw PeerError.downloadingInOtherGroup(running.record.name, group: running.record.group)
            }
            self.downloads[info.fileID] = nil
            if sameGroup, status.state == .failed,
                let saved = try self.store.loadDownloads().first(where: { $0.0.fileID == info.fileID })
            {
                return try await self.resume(saved.0, haveBytes: saved.have)
            }
        }
        if self.shares.contains(fileID: info.fileID, in: group) {
            throw PeerError.sharedHere(name)
        }
        let target = directory + "/" + name
        if FileManager.default.fileExists(atPath: target) {
            throw PeerError.targetExists(target)
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

    /// The status of the download of `fileID` once it ends, or after `milliseconds` (at most a minute).
    func statusWhenEnded(_ fileID: String, milliseconds: Int) async throws -> DownloadStatus {
        guard let download = self.downloads[fileID] else {
            throw PeerError.noSuchDownload(fileID)
        }
        let within = TimeAmount.milliseconds(Int64(min(max(milliseconds, 0), 60_000)))
        return try await download.loop.flatSubmit { download.statusWhenEnded(within: within) }.get()
    }

    func downloadStatuses() async -> [DownloadStatus] {
        var statuses: [DownloadStatus] = []
        for download in self.downloads.values {
            if let status = try? await download.loop.submit({ download.status }).get() { statuses.append(status) }
        }
        return statuses.sorted { ($0.group, $0.name) < ($1.group, $1.name) }
    }

    private func begin(
        _ record: DownloadRecord, hashes: PieceHashes, have: Bitfield, part: PieceFile, token: String
    ) async throws -> DownloadStatus {
        let user = try await self.user(token)
        guard !self.isStopping else { throw PeerError.stopping }
        let completions = self.completions.continuation
        let environment = DownloadEnvironment(
            client: self.client, token: token, user: user, listenPort: UInt16(self.server?.port ?? 0),
            library: self.library, store: self.store,
            policy: .forPieceSize(
                record.pieceSize, bytesInFlight: self.config.swarm.inFlight, peerTimeout: self.config.swarm.peerTimeout),
            logger: self.logger, metrics: self.metrics,
            completed: { record, identity in completions.yield((record, identity)) })
        let loop = self.group.next()
        let download = Download(
            record: record, hashes: hashes, have: have, part: part, loop: loop, environment: environment)
        self.downloads[record.fileID] = download
        return try await loop.submit {
            if record.paused == true { download.halt(cancelled: false) } else { download.start() }
            return download.status
        }.get()
    }

    /// A download finished: the file is shared from its new place, as the file the download wrote (`identity`),
    /// and the tracker lists this peer as a seeder.
    func completed(_ record: DownloadRecord, identity: FileIdentity) async {
        self.store.removeDownload(record.fileID)
        let metadata: Logger.Metadata = [
            "download.name": "\(record.name)", "download.group": "\(record.group)",
            "download.target": "\(record.target)",
        ]
        do {
            let share = ShareRecord(
                group: record.group, name: record.name, path: record.target, fileID: record.fileID, size: record.size,
                pieceSize: record.pieceSize, identity: identity)
            self.shares.add(share)
            try self.saveShares()
            try await self.announce(share)
            self.logger.info("downloaded a file; seeding it", metadata: metadata)
        } catch {
            var metadata = metadata
            metadata["error"] = "\(error)"
            self.logger.error("downloaded a file but cannot seed it", metadata: metadata)
        }
    }

    /// Resumes a download saved by an earlier run, logging why when it cannot.
    func resumeAtStart(_ record: DownloadRecord, haveBytes: [UInt8]) async {
        do {
            _ = try await self.resume(record, haveBytes: haveBytes)
        } catch {
            self.logger.error(
                "cannot resume a download", metadata: ["download.name": "\(record.name)", "error": "\(error)"])
        }
    }

    /// Starts `record` again from the pieces its saved bitfield names that still pass their SHA1 on disk.
    private func resume(_ record: DownloadRecord, haveBytes: [UInt8]) async throws -> DownloadStatus {
        let token = try self.token()
        guard let bytes = Hex.decode(Substring(record.pieceHashes)), let hashes = PieceHashes(bytes: bytes) else {
            throw PeerError.badSavedHashes(record.name)
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
        let digests = try await PieceHasher.digests(
            of: part, layout: layout, pieces: claimed, threads: System.coreCount, progress: HashProgress(total: 0))
        var have = Bitfield(count: layout.pieceCount)
        for (piece, digest) in zip(claimed, digests) where digest == Array(hashes[piece]) { have.insert(piece) }
        self.logger.info(
            "resuming a download from the pieces verified on disk",
            metadata: [
                "download.name": "\(record.name)", "pieces.verified": "\(have.setCount)",
                "pieces": "\(layout.pieceCount)",
            ])
        return try await self.begin(record, hashes: hashes, have: have, part: part, token: token)
    }
}

extension PeerDaemon {
    /// The download of `name` in `group` this daemon runs or ran.
    private func download(named name: String, in group: String) throws(PeerError) -> Download {
        guard let download = self.downloads.values.first(where: { $0.record.group == group && $0.record.name == name })
        else { throw PeerError.noDownloadNamed(name, in: group) }
        return download
    }

    /// Pauses the download of `name` in `group`; it stays paused, across restarts too, until resumed.
    func pause(group: String, name: String) async throws -> DownloadStatus {
        let download = try self.download(named: name, in: group)
        var record = download.record
        record.paused = true
        try self.store.saveDownload(record)
        return try await download.loop.submit {
            download.halt(cancelled: false)
            return download.status
        }.get()
    }

    /// Goes on with the paused or failed download of `name` in `group`, from its verified pieces.
    func resume(group: String, name: String) async throws -> DownloadStatus {
        let download = try self.download(named: name, in: group)
        let status = try await download.loop.submit { download.status }.get()
        guard !status.state.isRunning else { return status }
        guard status.state != .complete else { throw PeerError.noDownloadNamed(name, in: group) }
        guard let (saved, have) = try self.store.loadDownloads().first(where: { $0.0.fileID == download.record.fileID })
        else { throw PeerError.noDownloadNamed(name, in: group) }
        var record = saved
        record.paused = nil
        try self.store.saveDownload(record)
        self.downloads[record.fileID] = nil
        return try await self.resume(record, haveBytes: have)
    }

    /// Ends the download of `name` in `group` for good: its connections close, and its part file (the one it
    /// created, nothing else) and saved state are deleted.
    func cancel(group: String, name: String) async throws {
        let download = try self.download(named: name, in: group)
        let status = try await download.loop.submit {
            download.halt(cancelled: true)
            return download.status
        }.get()
        self.downloads[download.record.fileID] = nil
        self.store.removeDownload(download.record.fileID)
        // Only the part file this download created, checked by its inode, is deleted.
        guard status.state != .complete, let identity = download.record.partIdentity,
            (try? PieceFile.reopenPart(download.record.part, identity: identity, size: download.record.size)) != nil
        else { return }
        unlink(download.record.part)
        self.logger.info(
            "cancelled a download", metadata: ["download.name": "\(name)", "download.group": "\(group)"])
    }

    /// Forgets the downloads that ended; returns those left.
    func clearEndedDownloads() async -> [DownloadStatus] {
        for (fileID, download) in self.downloads {
            if let status = try? await download.loop.submit({ download.status }).get(), status.state.hasEnded {
                self.downloads[fileID] = nil
            }
        }
        return await self.downloadStatuses()
    }
}
