import NIOCore
import TandemTestKit
import Testing
import Tracker
import Wire

/// Every ``TrackerOp`` round-trips through its binary encoding; damaged bytes throw a typed error, never trap.
@Suite struct TrackerOpCodecTests {
    static let maxPassword = PasswordHash(salt: [UInt8](repeating: 0xFF, count: 64), hash: [0, 1, 2], iterations: .max)
    static let emptySeeder = Seeder(user: "", host: "", port: 0)
    static let maxSeeder = Seeder(user: "zoë", host: "fe80::1%eth0", port: .max)

    /// Every op, with empty fields, UTF-8 fields and `.max` values.
    static let ops: [TrackerOp] = [
        .createUser(user: "", password: PasswordHash(salt: [], hash: [], iterations: 0)),
        .createUser(user: "zoë🚀", password: Self.maxPassword),
        .openSession(user: "", token: ""),
        .openSession(user: "alice", token: String(repeating: "f", count: 64)),
        .closeSession(token: ""),
        .closeSession(token: "tök€n"),
        .createGroup(group: "", owner: ""),
        .createGroup(group: "grüppe", owner: "ünï"),
        .requestJoin(group: "", user: ""),
        .requestJoin(group: "g", user: "日本"),
        .leaveGroup(group: "", user: ""),
        .leaveGroup(group: "g", user: "bob"),
        .acceptRequest(group: "", owner: "", user: ""),
        .acceptRequest(group: "g", owner: "alice", user: "bob"),
        .rejectRequest(group: "", owner: "", user: ""),
        .rejectRequest(group: "g", owner: "alice", user: "carol"),
        .removeMember(group: "", owner: "", user: ""),
        .removeMember(group: "g", owner: "alice", user: "bob"),
        .addFile(group: "", name: "", size: 0, pieceHashes: .empty, seeder: Self.emptySeeder),
        .addFile(
            group: "g", name: "日本語 ファイル.txt", size: .max, pieceHashes: pieceHashes(300), seeder: Self.maxSeeder),
        .addSeeder(group: "", name: "", seeder: Self.emptySeeder),
        .addSeeder(group: "g", name: "é", seeder: Self.maxSeeder),
        .removeSeeder(group: "", name: "", user: ""),
        .removeSeeder(group: "g", name: "a.txt", user: "bob"),
    ]

    static func encoded(_ op: TrackerOp) -> ByteBuffer {
        var buffer = ByteBuffer()
        TrackerState.encode(op, into: &buffer)
        return buffer
    }

    @Test(arguments: Self.ops)
    func roundTrips(_ op: TrackerOp) throws {
        // Start past some bytes, so that nothing assumes the reader index is 0.
        var buffer = ByteBuffer(string: "BEFORE")
        buffer.moveReaderIndex(forwardBy: 6)
        TrackerState.encode(op, into: &buffer)
        let bytes = Array(buffer.readableBytesView)
        #expect(try TrackerState.decodeOp(from: &buffer) == op)
        #expect(buffer.readableBytes == 0)
        #expect(Array(Self.encoded(op).readableBytesView) == bytes, "encoding is not deterministic")
    }

    @Test(arguments: Self.ops)
    func everyTruncationThrowsTruncated(_ op: TrackerOp) {
        let bytes = Array(Self.encoded(op).readableBytesView)
        for length in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: bytes.prefix(length))
            #expect(throws: TrackerCodecError.truncated, "prefix of \(length) bytes") {
                try TrackerState.decodeOp(from: &buffer)
            }
        }
    }

    @Test(arguments: Self.ops)
    func leftOverBytesThrow(_ op: TrackerOp) {
        var buffer = Self.encoded(op)
        buffer.writeInteger(UInt8(0))
        #expect(throws: TrackerCodecError.trailingBytes(1)) { try TrackerState.decodeOp(from: &buffer) }
    }

    @Test func theEncodingIsTheDocumentedOne() {
        let bytes = Array(Self.encoded(.closeSession(token: "ab")).readableBytesView)
        #expect(bytes == [1, 3, 0, 0, 0, 2, 0x61, 0x62])
        let seeder = Array(
            Self.encoded(.addSeeder(group: "g", name: "n", seeder: Seeder(user: "u", host: "h", port: 258)))
                .readableBytesView)
        #expect(seeder == [1, 9, 0, 0, 0, 1, 0x67, 0, 0, 0, 1, 0x6E, 0, 0, 0, 1, 0x75, 0, 0, 0, 1, 0x68, 1, 2])
    }

    /// Bytes that must be refused, and the error.
    static let damaged: [(String, [UInt8], TrackerCodecError)] = [
        ("nothing", [], .truncated),
        ("format only", [1], .truncated),
        ("an unknown format", [2, 3, 0, 0, 0, 0], .unsupportedFormat(2)),
        ("tag 0", [1, 0], .unknownOp(0)),
        ("tag 16", [1, 16, 0, 0, 0, 0], .unknownOp(16)),
        ("a length past the end", [1, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0x61], .truncated),
        ("invalid UTF-8", [1, 3, 0, 0, 0, 2, 0xC3, 0x28], .invalidUTF8),
        ("a lone continuation byte", [1, 3, 0, 0, 0, 1, 0x80], .invalidUTF8),
        ("an encoded surrogate", [1, 3, 0, 0, 0, 3, 0xED, 0xA0, 0x80], .invalidUTF8),
        ("a hash list of 19 bytes", Self.addFile(hashBytes: 19), .invalidPieceHashes(byteCount: 19)),
        ("a hash list of 41 bytes", Self.addFile(hashBytes: 41), .invalidPieceHashes(byteCount: 41)),
    ]

    /// An `addFile` op whose hash list has `hashBytes` bytes.
    static func addFile(hashBytes: Int) -> [UInt8] {
        var buffer = ByteBuffer(bytes: [1, 8, 0, 0, 0, 1, 0x67, 0, 0, 0, 1, 0x6E])
        buffer.writeInteger(UInt64(16))
        buffer.writeInteger(UInt32(hashBytes))
        buffer.writeBytes([UInt8](repeating: 7, count: hashBytes))
        buffer.writeBytes([0, 0, 0, 1, 0x75, 0, 0, 0, 1, 0x68, 0, 1])
        return Array(buffer.readableBytesView)
    }

    @Test(arguments: Self.damaged)
    func damagedBytesThrowTheirError(_ label: String, _ bytes: [UInt8], _ error: TrackerCodecError) {
        var buffer = ByteBuffer(bytes: bytes)
        #expect(throws: error, "\(label)") { try TrackerState.decodeOp(from: &buffer) }
    }

    @Test(arguments: TestSeeds.all)
    func randomBytesNeverTrap(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        for index in 0..<1_000 {
            var bytes = (0..<Int.random(in: 0...48, using: &random)).map { _ in
                UInt8.random(in: 0 ... .max, using: &random)
            }
            // Most cases start like an op, so that decoding gets past the first two bytes.
            if index % 4 != 0, bytes.count >= 2 {
                bytes[0] = 1
                bytes[1] = UInt8.random(in: 1...10, using: &random)
            }
            var buffer = ByteBuffer(bytes: bytes)
            // decodeOp throws only TrackerCodecError (typed throws); the point is that it returns instead of trapping.
            if let op = try? TrackerState.decodeOp(from: &buffer) {
                // Whatever decodes must encode back to the same bytes.
                #expect(Array(Self.encoded(op).readableBytesView) == bytes, "seed \(seed), case \(index): \(bytes)")
            }
        }
    }

    @Test(arguments: TestSeeds.all)
    func flippedBytesNeverTrap(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        for index in 0..<1_000 {
            var bytes = Array(
                Self.encoded(Self.ops.randomElement(using: &random) ?? .closeSession(token: "")).readableBytesView)
            let position = Int.random(in: 0..<bytes.count, using: &random)
            bytes[position] ^= UInt8.random(in: 1 ... .max, using: &random)
            var buffer = ByteBuffer(bytes: bytes)
            if let op = try? TrackerState.decodeOp(from: &buffer) {
                #expect(Array(Self.encoded(op).readableBytesView) == bytes, "seed \(seed), case \(index): \(bytes)")
            }
        }
    }
}
