import Foundation
import NIOCore
import NIOEmbedded
import Swarm
import Synchronization
import TandemCrypto
import TandemTestKit
import Testing
import Wire

@testable import Peer

/// The downloader's side of a connection over an in-memory channel: what it reports to its download for each
/// thing a serving peer sends, and what it writes to the part file.
@Suite struct PeerLinkTests {
    /// What the link reported, in order.
    final class Reports: Sendable {
        private let lines = Mutex<[String]>([])

        func add(_ line: String) { self.lines.withLock { $0.append(line) } }
        var all: [String] { self.lines.withLock { $0 } }

        func events(accepting: Bool = true) -> PeerLink.Events {
            PeerLink.Events(
                welcomed: { has, peers in self.add("welcomed \(has.indexes) \(peers.map(\.port))") },
                has: { self.add("has \($0)") }, lacks: { self.add("lacks \($0)") },
                exchanged: { self.add("peers \($0.map(\.port))") }, accepts: { _ in accepting },
                delivered: { piece, digest in self.add("delivered \(piece) \(Hex.encode(digest))") },
                progressed: {}, diskFailed: { self.add("disk failed: \($0)") },
                failed: { self.add("failed: \($0)\($0.isRefusal ? " (refusal)" : "")") },
                closed: { self.add("closed") })
        }
    }

    /// A link for a file of three pieces of 16 bytes and one of 4, writing into a part file.
    struct Link {
        static let layout = PieceLayout(fileSize: 52, pieceSize: 16)
        static let hello = PeerHello(fileID: [1], group: "team", user: "bob", proof: [2], listenPort: 0)
        let channel: NIOAsyncTestingChannel
        let reports = Reports()
        let directory: URL
        let partPath: String

        init(accepting: Bool = true) async throws {
            self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("peer-link-\(UUID())")
            try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
            self.partPath = self.directory.appendingPathComponent("file.part").path
            let part = try PieceFile.createPart(self.partPath, size: 52)
            let reports = self.reports
            self.channel = try await NIOAsyncTestingChannel { channel in
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PeerLink.decoder(for: Self.layout)))
                try channel.pipeline.syncOperations.addHandler(
                    PeerLink(
                        address: PeerAddress(host: "127.0.0.1", port: 7000), hello: Self.hello, layout: Self.layout,
                        part: part, events: reports.events(accepting: accepting)))
            }
            try await self.channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7000)).get()
        }

        func remove() { try? FileManager.default.removeItem(at: self.directory) }

        /// The serving peer's bytes.
        func receive(_ bytes: ByteBuffer) async throws { try await self.channel.writeInbound(bytes) }

        /// The preface and a welcome with pieces 0, 1 and 3.
        func welcome() async throws {
            var buffer = ByteBuffer(bytes: PeerPreface.bytes)
            buffer.writePeerReply(.welcome(PeerWelcome(bitfield: [0b1101_0000], peers: [])))
            try await self.receive(buffer)
        }

        /// Waits until the link reported `count` things.
        func reported(_ count: Int) throws -> [String] {
            try eventually("\(count) reports", timeout: .seconds(10)) {
                self.reports.all.count >= count ? self.reports.all : nil
            }
        }
    }

    static func pieceFrame(_ piece: UInt32, _ data: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writePeerReply(.piece(PieceRange(piece: piece, offset: 0, length: UInt32(data.count))))
        buffer.writeBytes(data)
        return buffer
    }

    static func sha1(_ bytes: [UInt8]) -> String {
        let stream = SHA1Stream()
        bytes.withUnsafeBytes { stream.update($0) }
        return Hex.encode(stream.finish())
    }

    @Test func saysHelloThenWritesAPieceArrivingInManyReadsAndReportsItsDigest() async throws {
        let link = try await Link()
        defer { link.remove() }
        var hello = try #require(try await link.channel.readOutbound(as: ByteBuffer.self))
        #expect(hello.readBytes(length: 5) == PeerPreface.bytes)
        try await link.welcome()
        let data = (0..<16).map { UInt8($0 + 100) }
        var frame = Self.pieceFrame(1, data)
        while frame.readableBytes > 0 {
            try await link.receive(frame.readSlice(length: min(5, frame.readableBytes))!)
        }
        #expect(try link.reported(2) == ["welcomed [0, 1, 3] []", "delivered 1 \(Self.sha1(data))"])
        let onDisk = try Data(contentsOf: URL(fileURLWithPath: link.partPath))
        #expect(Array(onDisk[16..<32]) == data)
    }

    @Test func aPieceNotAskedForEndsTheConnection() async throws {
        let link = try await Link()
        defer { link.remove() }
        try await link.welcome()
        var frame = ByteBuffer()
        frame.writePeerReply(.piece(PieceRange(piece: 1, offset: 4, length: 4)))
        frame.writeBytes([1, 2, 3, 4])
        try await link.receive(frame)
        #expect(
            try link.reported(3) == [
                "welcomed [0, 1, 3] []", "failed: sent bytes that were not asked for (piece 1, 4+4)", "closed",
            ])
    }

    @Test func aStreamCutInTheMiddleOfAPieceDeliversNothing() async throws {
        let link = try await Link()
        defer { link.remove() }
        try await link.welcome()
        let frame = Self.pieceFrame(0, Array(repeating: 7, count: 16))
        try await link.receive(frame.getSlice(at: 0, length: 20)!)
        try await link.channel.close()
        let reports = try link.reported(3)
        #expect(reports.first == "welcomed [0, 1, 3] []")
        #expect(reports.contains("failed: sent a bad frame: connection closed in the middle of a frame"), "\(reports)")
        #expect(reports.last == "closed")
        #expect(!reports.contains { $0.hasPrefix("delivered") })
    }

    @Test func bytesNoLongerWantedAreNotWrittenNorDelivered() async throws {
        let link = try await Link(accepting: false)
        defer { link.remove() }
        try await link.welcome()
        try await link.receive(Self.pieceFrame(3, [9, 9, 9, 9]))
        var frame = ByteBuffer()
        frame.writePeerReply(.have(2))
        try await link.receive(frame)
        #expect(try link.reported(2) == ["welcomed [0, 1, 3] []", "has 2"])
        let onDisk = try Data(contentsOf: URL(fileURLWithPath: link.partPath))
        #expect(Array(onDisk[48..<52]) == [0, 0, 0, 0])
    }

    @Test func refusalsRejectionsAndBadWelcomesAreTold() async throws {
        let refused = try await Link()
        defer { refused.remove() }
        var buffer = ByteBuffer(bytes: PeerPreface.bytes)
        buffer.writePeerReply(.rejected(PieceRange(piece: 2, offset: 0, length: 16), code: .notFound, message: "no"))
        buffer.writePeerReply(.peers([PeerAddress(host: "127.0.0.1", port: 7001)]))
        buffer.writePeerReply(.error(code: .forbidden, message: "bob may not download from team"))
        try await refused.receive(buffer)
        #expect(
            try refused.reported(4) == [
                "lacks 2", "peers [7001]", "failed: refused: bob may not download from team (forbidden) (refusal)",
                "closed",
            ])

        let badWelcome = try await Link()
        defer { badWelcome.remove() }
        var welcome = ByteBuffer(bytes: PeerPreface.bytes)
        welcome.writePeerReply(.welcome(PeerWelcome(bitfield: [0xFF, 0xFF], peers: [])))
        try await badWelcome.receive(welcome)
        #expect(
            try badWelcome.reported(2) == ["failed: sent a bitfield that does not fit the file's 4 pieces", "closed"])
    }
}
