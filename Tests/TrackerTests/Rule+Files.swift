import TandemCrypto
import Tracker
import Wire

/// `UPLOAD_FILE`, `LIST_FILES`, `DOWNLOAD_FILE`, `STOP_SHARE` and `NEW_SEEDER`, each broken and obeyed.
extension Rule {
    static let fileNameRule =
        "file names are names, not paths: 1 to 255 UTF-8 bytes, not . or .., without / \\ | : , or control characters"

    /// `UPLOAD_FILE|g|name|size|hashes|port` from alice, who owns g.
    static func upload(
        _ name: String, size: UInt64 = 16, hashes: PieceHashes = pieceHashes(1), port: UInt16 = 7001,
        group: String = "g"
    ) -> Request {
        .uploadFile(group: group, name: name, size: size, pieceHashes: hashes, port: port)
    }

    /// The hex SHA1 of `pieceHashes(2)`.
    static let bBinID = "8f20f37b3fef4c356bff95e0d0cc5d1c73c75912"

    static let badFileNames = [
        "", ".", "..", "a/b", "../x", "a\\b", "a|b", "a:b", "a,b", "a\u{0}b", "a\tb", "a\nb", "a\u{7F}b", "\u{1B}",
        String(repeating: "n", count: 256), String(repeating: "é", count: 128),
    ]

    /// Names that would show as something else: C1 controls, separators, bidirectional controls.
    static let misleadingFileNames = [
        "a\u{85}b", "a\u{9F}b", "a\u{2028}b", "a\u{2029}b", "report\u{202E}fdp.exe", "a\u{202A}b", "a\u{2066}b",
        "a\u{2069}b", "a\u{200E}b", "a\u{200F}b", "a\u{61C}b",
    ]

    static let uploads: [Rule] =
        Self.badFileNames.map { name in
            .refuse("file name \(name.debugDescription)", "alice#1", Self.upload(name), .invalid, Self.fileNameRule)
        }
        + Self.misleadingFileNames.map { name in
            .refuse(
                "file name \(name.debugDescription)", "alice#1", Self.upload(name), .invalid,
                "file names may not hold C1 control characters (U+0080 to U+009F), line or paragraph separators "
                    + "(U+2028, U+2029) or bidirectional controls (U+061C, U+200E, U+200F, U+202A to U+202E, "
                    + "U+2066 to U+2069), which would make a listing show another name than the file's")
        } + [
            .refuse(
                "UPLOAD_FILE to an unknown group", "alice#1", Self.upload("x", group: "zz"), .notFound,
                "no group named zz"),
            .refuse("UPLOAD_FILE as an outsider", "dave#1", Self.upload("x"), .forbidden, "not a member of g"),
            .refuse("UPLOAD_FILE as a pending requester", "carol#1", Self.upload("x"), .forbidden, "not a member of g"),
            .refuse(
                "UPLOAD_FILE of an existing name", "bob#1", Self.upload("a.txt"), .exists,
                "g already has a file named a.txt"),
            .refuse(
                "too few piece hashes", "alice#1", Self.upload("x", size: 40, hashes: pieceHashes(2)), .invalid,
                "2 piece hashes given, but a file of 40 bytes has 3 pieces of 16 bytes"
            ),
            .refuse(
                "too many piece hashes", "alice#1", Self.upload("x", size: 32, hashes: pieceHashes(3)), .invalid,
                "3 piece hashes given, but a file of 32 bytes has 2 pieces of 16 bytes"
            ),
            .refuse(
                "hashes for an empty file", "alice#1", Self.upload("x", size: 0, hashes: pieceHashes(1)), .invalid,
                "1 piece hashes given, but a file of 0 bytes has 0 pieces of 16 bytes"
            ),
            .refuse(
                "a file over 2^50 bytes", "alice#1", Self.upload("x", size: 1 << 50 + 1, hashes: .empty), .invalid,
                "a file of 1125899906842625 bytes is over the limit of 1125899906842624 bytes (1 PiB)"
            ),
            .refuse("port 0", "alice#1", Self.upload("x", port: 0), .invalid, "ports are 1 to 65535"),
            .write(
                "UPLOAD_FILE registers the uploader as the seeder", "bob#1",
                Self.upload("b.bin", size: 17, hashes: pieceHashes(2), port: 9000),
                host: "10.0.0.2",
                op: .addFile(
                    group: "g", name: "b.bin", size: 17, pieceHashes: pieceHashes(2),
                    seeder: Seeder(user: "bob", host: "10.0.0.2", port: 9000)),
                reply: .fileID(Self.bBinID),
                then: [
                    .then(
                        "alice#1", .listFiles(group: "g"),
                        .files([
                            TrackerHarness.worldFilesOfG[0],
                            FileEntry(name: "b.bin", size: 17, seeders: 1, fileID: Self.bBinID),
                            TrackerHarness.worldFilesOfG[1],
                        ]))
                ]
            ),
            .write(
                "an empty file", "alice#1", Self.upload("empty", size: 0, hashes: .empty),
                op: .addFile(
                    group: "g", name: "empty", size: 0, pieceHashes: .empty, seeder: TrackerHarness.aliceSeeder),
                reply: .fileID(TrackerHarness.emptyID)
            ),
            .write(
                "a file name of 255 UTF-8 bytes, with spaces and accents", "alice#1",
                Self.upload("é" + String(repeating: "n", count: 250) + " .x"),
                op: .addFile(
                    group: "g", name: "é" + String(repeating: "n", count: 250) + " .x", size: 16,
                    pieceHashes: pieceHashes(1), seeder: TrackerHarness.aliceSeeder),
                reply: .fileID("38666b8ba500faa5c2406f4575d42a92379844c2")
            ),
            .write(
                "the same name in another group", "bob#1", Self.upload("a.txt", port: 7002, group: "h"),
                host: "10.0.0.2",
                op: .addFile(
                    group: "h", name: "a.txt", size: 16, pieceHashes: pieceHashes(1), seeder: TrackerHarness.bobSeeder),
                reply: .fileID("38666b8ba500faa5c2406f4575d42a92379844c2")
            ),
        ]

    static let reads: [Rule] = [
        .refuse("LIST_FILES of an unknown group", "bob#1", .listFiles(group: "zz"), .notFound, "no group named zz"),
        .refuse("LIST_FILES as an outsider", "dave#1", .listFiles(group: "g"), .forbidden, "not a member of g"),
        .refuse(
            "LIST_FILES as a pending requester", "carol#1", .listFiles(group: "g"), .forbidden, "not a member of g"),
        .answer("LIST_FILES as a member", "bob#1", .listFiles(group: "g"), .files(TrackerHarness.worldFilesOfG)),
        .answer("LIST_FILES as the owner", "alice#1", .listFiles(group: "g"), .files(TrackerHarness.worldFilesOfG)),
        .refuse(
            "DOWNLOAD_FILE in an unknown group", "bob#1", .downloadFile(group: "zz", name: "a.txt"), .notFound,
            "no group named zz"
        ),
        .refuse(
            "DOWNLOAD_FILE as an outsider, even of a missing file", "dave#1", .downloadFile(group: "g", name: "nope"),
            .forbidden, "not a member of g"
        ),
        .refuse(
            "DOWNLOAD_FILE of an unknown file", "bob#1", .downloadFile(group: "g", name: "nope"), .notFound,
            "no file named nope in g"
        ),
        .answer(
            "DOWNLOAD_FILE lists seeders in arrival order", "bob#1", .downloadFile(group: "g", name: "a.txt"),
            .fileInfo(TrackerHarness.aTxtInfo(seeders: [TrackerHarness.aliceSeeder, TrackerHarness.bobSeeder]))
        ),
    ]

    static let seeding: [Rule] = [
        .refuse(
            "STOP_SHARE in an unknown group", "bob#1", .stopShare(group: "zz", name: "a.txt"), .notFound,
            "no group named zz"),
        .refuse(
            "STOP_SHARE as an outsider", "dave#1", .stopShare(group: "g", name: "a.txt"), .forbidden,
            "not a member of g"),
        .refuse(
            "STOP_SHARE of an unknown file", "bob#1", .stopShare(group: "g", name: "nope"), .notFound,
            "no file named nope in g"),
        .refuse(
            "STOP_SHARE of a file one does not seed", "bob#1", .stopShare(group: "g", name: "dup.bin"), .notFound,
            "you do not seed dup.bin in g"
        ),
        .write(
            "STOP_SHARE removes the seeder", "bob#1", .stopShare(group: "g", name: "a.txt"),
            op: .removeSeeder(group: "g", name: "a.txt", user: "bob"),
            then: [
                .then(
                    "alice#1", .downloadFile(group: "g", name: "a.txt"),
                    .fileInfo(TrackerHarness.aTxtInfo(seeders: [TrackerHarness.aliceSeeder])))
            ]
        ),
        .write(
            "STOP_SHARE by the last seeder removes the file", "alice#1", .stopShare(group: "g", name: "dup.bin"),
            op: .removeSeeder(group: "g", name: "dup.bin", user: "alice"),
            then: [
                .then("bob#1", .listFiles(group: "g"), .files([TrackerHarness.worldFilesOfG[0]])),
                .then(
                    "bob#1", .downloadFile(group: "h", name: "dup.bin"),
                    .fileInfo(
                        FileInfo(
                            group: "h", name: "dup.bin", size: 0, pieceSize: TrackerHarness.pieceSize,
                            pieceHashes: .empty, fileID: TrackerHarness.emptyID, seeders: [TrackerHarness.aliceSeeder]))
                ),
            ]
        ),
        .refuse(
            "NEW_SEEDER in an unknown group", "bob#1", .newSeeder(group: "zz", name: "a.txt", port: 1), .notFound,
            "no group named zz"
        ),
        .refuse(
            "NEW_SEEDER as an outsider", "dave#1", .newSeeder(group: "g", name: "a.txt", port: 1), .forbidden,
            "not a member of g"
        ),
        .refuse(
            "NEW_SEEDER of an unknown file", "bob#1", .newSeeder(group: "g", name: "nope", port: 1), .notFound,
            "no file named nope in g"
        ),
        .refuse(
            "NEW_SEEDER on port 0", "bob#1", .newSeeder(group: "g", name: "a.txt", port: 0), .invalid,
            "ports are 1 to 65535"),
        .write(
            "NEW_SEEDER adds a seeder after the others", "alice#1", .newSeeder(group: "h", name: "dup.bin", port: 7001),
            op: .addSeeder(group: "h", name: "dup.bin", seeder: TrackerHarness.aliceSeeder)
        ),
        .write(
            "NEW_SEEDER replaces the user's address in place", "alice#1",
            .newSeeder(group: "g", name: "a.txt", port: 8000), host: "10.0.0.9",
            op: .addSeeder(group: "g", name: "a.txt", seeder: Seeder(user: "alice", host: "10.0.0.9", port: 8000)),
            then: [
                .then(
                    "bob#1", .downloadFile(group: "g", name: "a.txt"),
                    .fileInfo(
                        TrackerHarness.aTxtInfo(seeders: [
                            Seeder(user: "alice", host: "10.0.0.9", port: 8000), TrackerHarness.bobSeeder,
                        ])))
            ]
        ),
        .refuse(
            "NEW_SEEDER without a group, of a file in none of the user's groups", "dave#1",
            .newSeeder(group: nil, name: "a.txt", port: 1), .notFound, "no file named a.txt in your groups"
        ),
        .refuse(
            "NEW_SEEDER without a group, as a pending requester", "carol#1",
            .newSeeder(group: nil, name: "a.txt", port: 1), .notFound, "no file named a.txt in your groups"
        ),
        .refuse(
            "NEW_SEEDER without a group, of a name in several groups", "bob#1",
            .newSeeder(group: nil, name: "dup.bin", port: 1), .invalid,
            "dup.bin is in several groups (g, h); use NEW_SEEDER|group|name|port"
        ),
        .refuse(
            "NEW_SEEDER without a group, on port 0", "bob#1", .newSeeder(group: nil, name: "a.txt", port: 0), .invalid,
            "ports are 1 to 65535"
        ),
        .write(
            "NEW_SEEDER without a group finds the one group", "bob#1",
            .newSeeder(group: nil, name: "a.txt", port: 7003),
            host: "10.0.0.2",
            op: .addSeeder(group: "g", name: "a.txt", seeder: Seeder(user: "bob", host: "10.0.0.2", port: 7003))
        ),
    ]
}

extension Rule {
    /// `CHECK_PEER|user|group|proof` with the proof of `token` for `group`.
    static func checkPeer(_ user: String, group: String = "g", token: String) -> Request {
        .checkPeer(user: user, group: group, proof: PeerProof.make(token: token, group: group))
    }

    static let peerChecks: [Rule] = [
        .answer("a member's proof from an open session", "alice#1", Self.checkPeer("bob", token: "bob#1"), .ok),
        .answer("the owner's proof", "bob#1", Self.checkPeer("alice", token: "alice#1"), .ok),
        .refuse(
            "a proof made for another group", "alice#1",
            .checkPeer(user: "bob", group: "g", proof: PeerProof.make(token: "bob#1", group: "h")), .forbidden,
            "bob is not a logged-in member of g, or the proof is not theirs"),
        .refuse(
            "a proof from another user's session", "alice#1", Self.checkPeer("bob", token: "alice#1"), .forbidden,
            "bob is not a logged-in member of g, or the proof is not theirs"),
        .refuse(
            "a proof from a session that is not open", "alice#1", Self.checkPeer("bob", token: "bob#0"), .forbidden,
            "bob is not a logged-in member of g, or the proof is not theirs"),
        .refuse(
            "a pending requester's proof", "alice#1", Self.checkPeer("carol", token: "carol#1"), .forbidden,
            "carol is not a logged-in member of g, or the proof is not theirs"),
        .refuse(
            "an outsider's proof", "alice#1", Self.checkPeer("dave", token: "dave#1"), .forbidden,
            "dave is not a logged-in member of g, or the proof is not theirs"),
        .refuse(
            "an unknown user", "alice#1", Self.checkPeer("zed", token: "zed#1"), .forbidden,
            "zed is not a logged-in member of g, or the proof is not theirs"),
        .refuse(
            "asked by an outsider", "dave#1", Self.checkPeer("bob", token: "bob#1"), .forbidden, "not a member of g"),
        .refuse(
            "asked without a session", nil, Self.checkPeer("bob", token: "bob#1"), .notLoggedIn,
            "log in first (LOGIN|user|password)"),
        .refuse(
            "an unknown group", "alice#1", Self.checkPeer("bob", group: "zz", token: "bob#1"), .notFound,
            "no group named zz"),
    ]
}
