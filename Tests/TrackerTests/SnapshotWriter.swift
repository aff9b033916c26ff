import Tracker
import Wire

/// Writes snapshot bytes by hand, following the format documented in `TrackerState+Snapshot.swift`, so that tests can
/// build snapshots the encoder would never produce (duplicates, dangling names).
///
/// Every user has ``password``; every file is empty (size 0, no piece hashes); seeders come from ``seeder(_:)``.
struct SnapshotWriter: Sendable {
    /// One group to write.
    struct Group: Sendable {
        var name: String
        var owner: String
        var members: [String] = []
        var requests: [String] = []
        /// Each file's name and its seeders' users, in the order written.
        var files: [(name: String, seeders: [String])] = []
    }

    static let password = PasswordHash(salt: [9], hash: [8, 7], iterations: 3)

    static func seeder(_ user: String) -> Seeder {
        Seeder(user: user, host: "host-\(user)", port: 1)
    }

    /// The snapshot in format 1 (no retries section), which decoders still read.
    private(set) var bytes: [UInt8]
    /// The same with each file's registrant (its first seeder) after its seeders, as format 3 has it.
    private var bytesWithRegistrants: [UInt8]

    /// The same snapshot in format 2, with an empty retries section (clock 0, no clients).
    var formatTwoBytes: [UInt8] { [2] + self.bytes.dropFirst() + [UInt8](repeating: 0, count: 12) }
    /// The same snapshot as the encoder writes it, format 3: files name their registrant, and the retries section
    /// is empty.
    var formatThreeBytes: [UInt8] { [3] + self.bytesWithRegistrants.dropFirst() + [UInt8](repeating: 0, count: 12) }

    init(pieceSize: UInt32 = 16) {
        self.bytes = [1]
        self.bytesWithRegistrants = [1]
        self.append(pieceSize)
    }

    /// Appends the users block: each user's name and session tokens.
    func users(_ users: (name: String, tokens: [String])...) -> SnapshotWriter {
        var writer = self
        writer.append(UInt32(users.count))
        for user in users {
            writer.append(user.name)
            writer.append(UInt32(Self.password.salt.count))
            writer.appendRaw(Self.password.salt)
            writer.append(UInt32(Self.password.hash.count))
            writer.appendRaw(Self.password.hash)
            writer.append(Self.password.iterations)
            writer.append(user.tokens)
        }
        return writer
    }

    /// Appends the groups block.
    func groups(_ groups: Group...) -> SnapshotWriter {
        var writer = self
        writer.append(UInt32(groups.count))
        for group in groups {
            writer.append(group.name)
            writer.append(group.owner)
            writer.append(group.members)
            writer.append(group.requests)
            writer.append(UInt32(group.files.count))
            for file in group.files {
                writer.append(file.name)
                writer.append(UInt64(0))
                writer.append(UInt32(0))
                writer.append(UInt32(file.seeders.count))
                for user in file.seeders {
                    let seeder = Self.seeder(user)
                    writer.append(seeder.user)
                    writer.append(seeder.host)
                    writer.append(seeder.port)
                }
                if let registrant = file.seeders.first {
                    writer.bytesWithRegistrants +=
                        withUnsafeBytes(of: UInt32(registrant.utf8.count).bigEndian, Array.init)
                        + Array(registrant.utf8)
                }
            }
        }
        return writer
    }

    private mutating func append<Integer: FixedWidthInteger>(_ value: Integer) {
        self.appendRaw((0..<(Integer.bitWidth / 8)).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) })
    }

    private mutating func append(_ string: String) {
        self.append(UInt32(string.utf8.count))
        self.appendRaw(Array(string.utf8))
    }

    private mutating func appendRaw(_ raw: [UInt8]) {
        self.bytes += raw
        self.bytesWithRegistrants += raw
    }

    private mutating func append(_ strings: [String]) {
        self.append(UInt32(strings.count))
        for string in strings {
            self.append(string)
        }
    }
}
