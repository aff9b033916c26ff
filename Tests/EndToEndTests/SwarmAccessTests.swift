import Foundation
import NIOCore
import TandemTestKit
import Testing
import Wire

/// What a serving peer gives to whom, and what it does with bad input: raw connections to a real peer daemon.
@Suite(.serialized) struct SwarmAccessTests {
    static let pieceSize = 64 << 10

    /// Alice shares `data.bin` (3 pieces and a bit) into team, where bob is a member; carol is not.
    static func sharedFile() throws -> (cluster: TestCluster, port: Int, path: String, fileID: String) {
        let cluster = try TestCluster(pieceSize: "64KiB", extraYAML: "swarm: { peer_timeout: 2s, max_peers: 64 }")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob"])
        try cluster.expectSuccess(
            ["create-user", "carol", "--password-stdin"], as: "carol", stdin: TestCluster.testPassword + "\n")
        try cluster.expectSuccess(
            ["login", "carol", "--password-stdin"], as: "carol", stdin: TestCluster.testPassword + "\n")
        let port = try cluster.startPeer("alice")
        let path = try cluster.writeFile("data.bin", size: 3 * Self.pieceSize + 100)
        let shared = try cluster.expectSuccess(["share", "team", path, "--json"], as: "alice").stdout
        let fileID = try #require(
            shared.range(of: "\"file_id\":\"").map { String(shared[$0.upperBound...].prefix(40)) })
        return (cluster, port, path, fileID)
    }

    /// The `HELLO|user|group|proof` line `tandemctl proof` prints for `user`.
    static func helloLine(_ user: String, group: String = "team", in cluster: TestCluster) throws -> String {
        try cluster.expectSuccess(["proof", group], as: user).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A binary hello frame for `fileID` with the proof of `user`.
    static func helloFrame(_ user: String, fileID: String, in cluster: TestCluster) throws -> [UInt8] {
        let proof = try #require(try Self.helloLine(user, in: cluster).split(separator: "|").last.map(Self.hex))
        var buffer = ByteBuffer(bytes: PeerPreface.bytes)
        buffer.writePeerRequest(
            .hello(
                PeerHello(fileID: Self.hex(Substring(fileID)), group: "team", user: user, proof: proof, listenPort: 0)))
        return Array(buffer.readableBytesView)
    }

    static func hex(_ text: Substring) -> [UInt8] {
        let digits = Array(text.utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap {
            UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16)
        }
    }

    /// Every reply until the connection closes.
    static func replies(_ socket: LineSocket) -> [PeerReply] {
        var reader = PeerReader(socket)
        return Array(sequence(state: ()) { _ in reader.next() })
    }

    @Test func aMemberIsServedAndANonMemberIsRefused() throws {
        let (cluster, port, path, fileID) = try Self.sharedFile()
        // Text: bob's proof admits him, and GET_PIECE returns the piece's bytes.
        let bob = try LineSocket(port: port)
        #expect(try bob.request(try Self.helloLine("bob", in: cluster)) == "OK")
        #expect(try bob.request("GET_PIECE|\(fileID)|3") == "OK|3|100")
        let piece = try bob.read(exactly: 100)
        let file = try #require(FileHandle(forReadingAtPath: path))
        try file.seek(toOffset: UInt64(3 * Self.pieceSize))
        #expect(piece == Array(file.readData(ofLength: 100)))
        #expect(try bob.request("GET_PIECE|data.bin|0") == "OK|0|\(Self.pieceSize)", "by name works too")

        // Carol is not in team: her proof is refused, in text and in binary.
        let carol = try LineSocket(port: port)
        let refusal = try carol.request(try Self.helloLine("carol", in: cluster))
        #expect(
            refusal.hasPrefix("ERR|forbidden|") && refusal.contains("carol is not a logged-in member of team"),
            "\(refusal)")
        #expect(try carol.request("GET_PIECE|\(fileID)|0").hasPrefix("ERR|not_logged_in|"))
        let binary = try LineSocket(port: port)
        #expect(binary.send(try Self.helloFrame("carol", fileID: fileID, in: cluster)))
        let replies = Self.replies(binary)
        #expect(replies.count == 1)
        guard case .error(.forbidden, let message) = replies.last else { return #expect(Bool(false), "\(replies)") }
        #expect(message.contains("carol may not download from team"))

        // A proof copied onto another name is worthless.
        let forged = try LineSocket(port: port)
        let bobProof = try Self.helloLine("bob", in: cluster).split(separator: "|").last!
        #expect(try forged.request("HELLO|carol|team|\(bobProof)").hasPrefix("ERR|forbidden|"))
    }

    @Test func aMemberWhoLeavesLosesTheConnectionAndGetsNothingNew() throws {
        let (cluster, port, _, fileID) = try Self.sharedFile()
        let connection = try LineSocket(port: port, timeout: .seconds(30))
        #expect(connection.send(try Self.helloFrame("bob", fileID: fileID, in: cluster)))
        var reader = PeerReader(connection)
        guard case .welcome = reader.next() else { return #expect(Bool(false), "bob is welcome while a member") }
        let hello = try Self.helloLine("bob", in: cluster)
        try cluster.expectSuccess(["leave-group", "team"], as: "bob")
        // Within the access cache's 5 s the open connection is closed with the reason.
        guard case .error(.forbidden, let message) = reader.next() else { return #expect(Bool(false)) }
        #expect(message.contains("bob may no longer download from team"), "\(message)")
        #expect(reader.next() == nil, "closed")
        let again = try LineSocket(port: port)
        #expect(try again.request(hello).hasPrefix("ERR|forbidden|"))
    }

    @Test func badRequestsGetClearErrorsAndThePeerKeepsServing() throws {
        let (cluster, port, path, fileID) = try Self.sharedFile()
        let text = try LineSocket(port: port)
        let beforeHello = try text.request("GET_PIECE|\(fileID)|0")
        #expect(beforeHello.hasPrefix("ERR|not_logged_in|"), "before HELLO")
        #expect(beforeHello.split(separator: "|").count == 3, "one code and one message: \(beforeHello)")
        #expect(try text.request(try Self.helloLine("bob", in: cluster)) == "OK")
        let cases: [(String, String)] = [
            ("GET_PIECE|\(fileID)|abc", "ERR|bad_request|GET_PIECE: index 'abc' is not a piece number"),
            ("GET_PIECE|\(fileID)|-1", "ERR|bad_request|GET_PIECE: index '-1' is not a piece number"),
            ("GET_PIECE|\(fileID)|99999999999", "ERR|bad_request|GET_PIECE: index '99999999999' is not a piece number"),
            ("GET_PIECE|\(fileID)|4", "ERR|invalid|piece 4 is out of range: the file has 4 pieces"),
            ("GET_PIECE|\(fileID)|4294967295", "ERR|invalid|piece 4294967295 is out of range"),
            ("GET_PIECE|../data.bin|0", "ERR|not_found|this peer does not serve ../data.bin in team"),
            ("GET_PIECE|/etc/passwd|0", "ERR|not_found|this peer does not serve /etc/passwd in team"),
            ("GET_PIECE|\(String(repeating: "0", count: 40))|0", "ERR|not_found|this peer does not serve"),
            ("FETCH|x", "ERR|unknown_command|"),
        ]
        for (line, expected) in cases {
            let reply = try text.request(line)
            #expect(reply.hasPrefix(expected), "\(line) -> \(reply)")
        }

        // Binary: a request before the hello, a 4 GiB length, an unknown file: an error frame, then the close.
        var early = ByteBuffer(bytes: PeerPreface.bytes)
        early.writePeerRequest(.request(PieceRange(piece: 0, offset: 0, length: 10)))
        var huge = ByteBuffer(bytes: PeerPreface.bytes)
        huge.writeInteger(UInt32.max)
        huge.writeInteger(UInt8(0x02))
        var unknown = ByteBuffer(bytes: PeerPreface.bytes)
        unknown.writePeerRequest(
            .hello(
                PeerHello(
                    fileID: [UInt8](repeating: 7, count: 20), group: "team", user: "bob", proof: [], listenPort: 0)))
        for (frames, code) in [(early, ErrorCode.badRequest), (huge, .tooLarge), (unknown, .notFound)] {
            let socket = try LineSocket(port: port)
            #expect(socket.send(Array(frames.readableBytesView)))
            let replies = Self.replies(socket)
            guard case .error(let got, _) = replies.last else { return #expect(Bool(false), "\(replies)") }
            #expect(got == code)
        }

        // After all that, bob downloads the file whole.
        try cluster.startPeer("bob")
        let target = cluster.directory.appendingPathComponent("bob-dir").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try cluster.expectSuccess(["download", "team", "data.bin", "--to", target], as: "bob")
        #expect(FileManager.default.contentsEqual(atPath: target + "/data.bin", andPath: path))
    }

    /// More idle connections than the peer serves: the extra ones are refused, the idle ones closed after the
    /// greeting timeout, and a real download gets through.
    @Test func idleConnectionsAreBoundedAndClosed() throws {
        let (cluster, port, path, _) = try Self.sharedFile()
        let idle = try (0..<300).map { _ in try LineSocket(port: port, timeout: .seconds(10)) }
        try cluster.startPeer("bob")
        let target = cluster.directory.appendingPathComponent("bob-dir").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try cluster.expectSuccess(["download", "team", "data.bin", "--to", target], as: "bob")
        #expect(FileManager.default.contentsEqual(atPath: target + "/data.bin", andPath: path))
        for socket in idle { try socket.waitForClose() }
    }

    /// Stop-share: the peer serves the file no more, and the tracker no longer lists it as a seeder.
    @Test func stopShareEndsServingAtOnce() throws {
        let (cluster, port, _, fileID) = try Self.sharedFile()
        let text = try LineSocket(port: port)
        #expect(try text.request(try Self.helloLine("bob", in: cluster)) == "OK")
        try cluster.expectSuccess(["stop-share", "team", "data.bin"], as: "alice")
        #expect(try text.request("GET_PIECE|\(fileID)|0").hasPrefix("ERR|not_found|"))
        // Alice was its only seeder: the tracker forgets the file.
        #expect(try cluster.expectSuccess(["list-files", "team", "--json"], as: "bob").stdout == "[]\n")
        #expect(try cluster.expectSuccess(["shares"], as: "alice").stdout.contains("no shares"))
    }
}

/// Reads a serving peer's replies from a raw socket, one at a time.
struct PeerReader {
    let socket: LineSocket
    private var stream = PeerReplyStream(maxFrame: 1 << 20, maxPieceData: 1 << 20)
    private var buffer = ByteBuffer()

    init(_ socket: LineSocket) { self.socket = socket }

    /// The next reply (piece data skipped); nil once the connection closed or went quiet past its timeout.
    mutating func next() -> PeerReply? {
        while true {
            while let event = try? self.stream.next(&self.buffer) {
                if case .reply(let reply) = event { return reply }
            }
            guard let bytes = try? self.socket.readSome() else { return nil }
            self.buffer.writeBytes(bytes)
        }
    }
}
