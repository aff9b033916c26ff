import Foundation
import NIOCore
import PeerControl
import Swarm
import TandemCrypto
import TrackerClient
import Wire

extension PeerDaemon {
    /// Hashes the file at `path`, publishes it into `group` (or seeds it when the group has the same file by that
    /// name), and serves it.
    func share(
        group: String, path: String, progress: @escaping @Sendable (ControlReply) async -> Void
    ) async throws -> ShareStatus {
        let token = try self.token()
        let name = (path as NSString).lastPathComponent
        if let existing = self.shares.record(named: name, in: group) {
            // A broken share is shared again from the file as it is now.
            guard existing.broken != nil else { throw PeerError.alreadyShared(name, in: group) }
            self.shares.remove(existing)
        }
        let file = try PieceFile.openForReading(path)
        guard try file.isRegularFile() else { throw PeerError.notRegularFile(path) }
        // Served from where it really is, and only while that is still the file hashed here.
        guard let resolved = realpath(path, nil) else { throw PeerError.io("resolve", path) }
        let realPath = String(cString: resolved)
        free(resolved)
        let identity = try file.identity()
        let layout = PieceLayout(fileSize: identity.size, pieceSize: self.config.pieceSize)
        self.logger.info(
            "hashing a file to share", metadata: ["share.path": "\(realPath)", "share.group": "\(group)"])
        let digests: [[UInt8]]
        do {
            digests = try await Self.hash(file, layout: layout, progress: progress)
            // Whoever asked may have gone (Ctrl-C): then nothing is published.
            try Task.checkCancellation()
        } catch {
            if Task.isCancelled {
                self.logger.notice(
                    "share cancelled before it was published",
                    metadata: ["share.path": "\(realPath)", "share.group": "\(group)"])
            }
            throw error
        }
        let hashes = PieceHashes(bytes: digests.flatMap { $0 })!
        let port = UInt16(self.server?.port ?? 0)
        let reply = try await self.client.send(
            .uploadFile(group: group, name: name, size: identity.size, pieceHashes: hashes, port: port), session: token)
        let fileID: String
        if case .error(.exists, _) = reply {
            // The group has a file by that name: the same bytes mean this peer seeds it too.
            let info = try await self.client.fileInfo(group: group, name: name, session: token)
            let ours = Hex.encode(Crypto.sha1(hashes.bytes))
            guard info.fileID == ours else {
                throw PeerError.otherFileNamed(name, in: group)
            }
            try await self.client.addSeeder(group: group, name: name, port: port, session: token)
            fileID = ours
        } else {
            fileID = try reply.expectFileID()
        }
        let record = ShareRecord(
            group: group, name: name, path: realPath, fileID: fileID, size: identity.size,
            pieceSize: layout.pieceSize, identity: identity)
        self.shares.add(record)
        try self.saveShares()
        return self.shares.status(record)
    }

    /// Hashes every piece on every core, off the actor, sending progress every 100 ms while it runs.
    private static func hash(
        _ file: PieceFile, layout: PieceLayout, progress: @escaping @Sendable (ControlReply) async -> Void
    ) async throws -> [[UInt8]] {
        let meter = HashProgress(total: layout.fileSize)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                while true {
                    await progress(
                        .progress(WorkProgress(done: meter.bytes.load(ordering: .relaxed), total: meter.total)))
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            let digests = try await PieceHasher.digests(
                of: file, layout: layout, pieces: Array(0..<layout.pieceCount), threads: System.coreCount,
                progress: meter)
            tasks.cancelAll()
            return digests
        }
    }

    func stopShare(group: String, name: String) async throws {
        guard let record = self.shares.record(named: name, in: group) else {
            throw PeerError.notShared(name, in: group)
        }
        self.shares.remove(record)
        try self.saveShares()
        let reply = try await self.client.send(.stopShare(group: group, name: name), session: try self.token())
        if case .error(let code, _) = reply, code == .notFound || code == .forbidden { return }
        try reply.expectOK()
    }

    /// A shared file could not be served: its share is marked broken, saved so, and no longer advertised.
    func shareLost(_ lost: Library.LostSource) async {
        guard let record = self.shares.record(fileID: lost.fileIDHex, in: lost.group), record.broken == nil else {
            return
        }
        self.logger.warning(
            "a shared file is gone or changed; no longer sharing it",
            metadata: [
                "share.path": "\(record.path)", "share.group": "\(record.group)", "share.reason": "\(lost.reason)",
            ])
        self.shares.markBroken(record, Self.brokenReason(lost.reason))
        try? self.saveShares()
        try? await self.withdraw(record)
    }

    /// Tells the tracker this peer no longer serves `record`'s file.
    func withdraw(_ record: ShareRecord) async throws {
        let reply = try await self.client.send(
            .stopShare(group: record.group, name: record.name), session: try self.token())
        if case .error(let code, _) = reply, code == .notFound || code == .forbidden { return }
        try reply.expectOK()
    }

    /// What `shares` says of a broken share.
    static func brokenReason(_ detail: String) -> String {
        "its file was deleted, moved or changed since it was shared (\(detail)); share it again, or stop-share it"
    }

    func saveShares() throws {
        try self.store.saveShares(self.shares.records)
    }

    /// Serves the saved shares again, those whose file is unchanged; returns them, to be announced.
    func restoreShares() throws -> [ShareRecord] {
        for var record in try self.store.loadShares() {
            guard let file = try? PieceFile.reopenShared(record.path, identity: record.identity),
                let identity = try? file.identity()
            else {
                if record.broken == nil {
                    self.logger.warning(
                        "a shared file changed or is gone since it was shared; no longer sharing it",
                        metadata: ["share.path": "\(record.path)", "share.name": "\(record.name)"])
                    record.broken = Self.brokenReason("found so when the daemon started")
                }
                self.shares.add(record)
                continue
            }
            // A record written before inodes were kept learns its file's.
            record.identity = identity
            self.shares.add(record)
        }
        try self.saveShares()
        return self.shares.records
    }

    /// Registers this peer as a seeder of `share` (the client retries while no tracker answers).
    func announce(_ share: ShareRecord) async throws {
        try await self.client.addSeeder(
            group: share.group, name: share.name, port: UInt16(self.server?.port ?? 0), session: try self.token())
    }
}
