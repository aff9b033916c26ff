import TandemCrypto
import Wire

/// Files and seeders: `UPLOAD_FILE`, `LIST_FILES`, `DOWNLOAD_FILE`, `STOP_SHARE` and `NEW_SEEDER`.
///
/// Membership is checked before a file is looked up, so that non-members cannot probe which files a group holds.
extension TrackerState {
    // MARK: Reads

    /// The files of `group`, sorted by name, with how many peers seed each now.
    func listFiles(_ group: String, user: String) throws(Refusal) -> Reply {
        let record = try self.group(group, admitting: user)
        let entries = record.files.map { name, file in
            FileEntry(name: name, size: file.size, seeders: UInt32(clamping: file.seeders.count), fileID: file.fileID)
        }
        return .files(entries.sorted { $0.name < $1.name })
    }

    /// What a downloader needs to fetch file `name` of `group`, with its seeders in arrival order.
    func downloadFile(_ group: String, name: String, user: String) throws(Refusal) -> Reply {
        let file = try self.file(name, in: self.group(group, admitting: user), group: group)
        let info = FileInfo(
            group: group, name: name, size: file.size, pieceSize: self.pieceSize, pieceHashes: file.pieceHashes,
            fileID: file.fileID, seeders: file.seeders
        )
        return .fileInfo(info)
    }

    /// The one group of `user` (owned or joined) that holds a file called `name`, for `NEW_SEEDER|name|port`, which
    /// names no group.
    func onlyGroupHolding(_ name: String, user: String) throws(Refusal) -> String {
        let holding = self.groups.compactMap { group, record in
            record.admits(user) && record.files[name] != nil ? group : nil
        }
        guard let only = holding.first else { throw .noFileInYourGroups(name) }
        guard holding.count == 1 else { throw .fileInSeveralGroups(name, groups: holding.sorted()) }
        return only
    }

    /// Whether `proof` comes from an open session of `user`, a member of `group`, for `group`; asked by a
    /// member of `group` (anyone else learns nothing about the group).
    func checkPeer(_ user: String, group: String, proof: [UInt8], askedBy asker: String) throws(Refusal) {
        let record = try self.group(group, admitting: asker)
        let sessions = self.users[user]?.sessions ?? []
        let signed = sessions.contains { Crypto.constantTimeEqual(PeerProof.make(token: $0, group: group), proof) }
        guard signed, record.admits(user) else { throw .peerNotAdmitted(user, group: group) }
    }

    /// File `name` of a group the caller may see into.
    private func file(_ name: String, in record: GroupRecord, group: String) throws(Refusal) -> FileRecord {
        guard let file = record.files[name] else { throw .noFile(name, group: group) }
        return file
    }

    // MARK: Checks

    func checkAddFile(
        _ group: String, name: String, size: UInt64, pieceHashes: PieceHashes, seeder: Seeder
    ) throws(Refusal) {
        let record = try self.group(group, admitting: seeder.user)
        guard NameRules.isValidFileName(name) else { throw .invalidFileName }
        guard record.files[name] == nil else { throw .fileExists(name, group: group) }
        guard size <= Self.maxFileSize else { throw .fileTooLarge(size) }
        let expected = self.pieceCount(ofSize: size)
        guard UInt64(pieceHashes.count) == expected else {
            throw .pieceCount(given: pieceHashes.count, expected: expected, size: size, pieceSize: self.pieceSize)
        }
        guard seeder.port != 0 else { throw .invalidPort }
    }

    func checkAddSeeder(_ group: String, name: String, seeder: Seeder) throws(Refusal) {
        _ = try self.file(name, in: self.group(group, admitting: seeder.user), group: group)
        guard seeder.port != 0 else { throw .invalidPort }
    }

    func checkRemoveSeeder(_ group: String, name: String, user: String) throws(Refusal) {
        let file = try self.file(name, in: self.group(group, admitting: user), group: group)
        guard file.seeders.contains(where: { $0.user == user }) else { throw .notSeeding(name, group: group) }
    }

    /// How many pieces a file of `size` bytes has: ceil(size / pieceSize), 0 for an empty file.
    /// `size` is at most ``maxFileSize``, so the sum cannot overflow.
    private func pieceCount(ofSize size: UInt64) -> UInt64 {
        (size + UInt64(self.pieceSize) - 1) / UInt64(self.pieceSize)
    }

    // MARK: Changes (after the checks passed)

    mutating func performAddFile(
        _ group: String, name: String, size: UInt64, pieceHashes: PieceHashes, seeder: Seeder
    ) -> Reply {
        let file = FileRecord(size: size, pieceHashes: pieceHashes, seeders: [seeder], registrant: seeder.user)
        self.groups[group]?.files[name] = file
        self.charge(file, named: name)
        return .fileID(file.fileID)
    }

    /// Adds the seeder after the others, or, when its user seeds the file already, replaces that address in place.
    mutating func performAddSeeder(_ group: String, name: String, seeder: Seeder) -> Reply {
        if let index = self.groups[group]?.files[name]?.seeders.firstIndex(where: { $0.user == seeder.user }) {
            self.groups[group]?.files[name]?.seeders[index] = seeder
        } else {
            self.groups[group]?.files[name]?.seeders.append(seeder)
        }
        return .ok
    }

    mutating func performRemoveSeeder(_ group: String, name: String, user: String) -> Reply {
        if let removed = self.groups[group]?.removeSeeder(user, fromFile: name) { self.release(removed, named: name) }
        return .ok
    }
}

extension TrackerState.FileRecord {
    /// A file record whose id is derived from its piece hashes.
    init(size: UInt64, pieceHashes: PieceHashes, seeders: [Seeder], registrant: String) {
        self.init(
            size: size, pieceHashes: pieceHashes, fileID: Hex.encode(Crypto.sha1(pieceHashes.bytes)), seeders: seeders,
            registrant: registrant)
    }
}
