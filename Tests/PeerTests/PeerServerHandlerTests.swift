import Foundation
import NIOCore
import NIOEmbedded
import Swarm
import Synchronization
import Testing
import Wire

@testable import Peer

/// The serving handler over an in-memory channel: what it writes for each thing a downloader sends, with a
/// tracker check the test answers when it chooses, and a real file on disk.
@Suite struct PeerServerHandlerTests {
    /// Answers access checks with the verdicts the test queued, in order; a check waits until one is queued.
    final class ScriptedChecker: AccessChecking {
        let ttl: Duration = .seconds(5)
        private let verdicts = AsyncStream<AccessVerdict>.makeStream()
        private let asked = Mutex(0)

        /// Lets the next check (or the one waiting) return `verdict`.
        func answer(_ verdict: AccessVerdict) { self.verdicts.continuation.yield(verdict) }

        /// How many checks have started.
        var checks: Int { self.asked.withLock { $0 } }

        func check(user: String, group: String, proof: [UInt8]) async -> AccessVerdict {
            self.asked.withLock { $0 += 1 }
            var iterator = self.verdicts.stream.makeAsyncIterator()
            return await iterator.next() ?? .unavailable("no answer")
        }
    }

    /// What the handler wrote, decoded.
    enum Output: Equatable {
        case preface
        case reply(PeerReply)
        /// A piece's bytes, sent from the file.
        case bytes([UInt8])
        case line(String)
    }

    /// One connection to a handler serving a 52-byte file of pieces of 16 bytes (the last 4), with pieces 0, 1
    /// and 3 present.
    struct Connection {
        let channel: NIOAsyncTestingChannel
        let checker = ScriptedChecker()
        let file: ServedFile
        let library = Library()
        let metrics = PeerMetrics()
        let contents: [UInt8]
        let directory: URL
        var stream = PeerReplyStream(maxFrame: 1 << 16, maxPieceData: 1 << 16)
        /// Whether the handler answers in lines (the client sent no preface).
        var text = false

        static let fileID = [UInt8](repeating: 0xAB, count: 20)
        static let timeout = TimeAmount.seconds(30)

        init() async throws {
            self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("peer-handler-\(UUID())")
            try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
            let path = self.directory.appendingPathComponent("movie.mkv").path
            self.contents = (0..<52).map { UInt8($0 * 3 % 251) }
            try Data(self.contents).write(to: URL(fileURLWithPath: path))
            let identity = try PieceFile.openForReading(path).identity()
            var present = Bitfield(count: 4)
            for piece in [0, 1, 3] { present.insert(piece) }
            self.file = ServedFile(
                fileID: Self.fileID, group: "team", name: "movie.mkv", layout: PieceLayout(fileSize: 52, pieceSize: 16),
                source: .shared(path: path, identity: identity), present: present)
            let library = self.library
            library.add(self.file)
            let (checker, metrics) = (self.checker, self.metrics)
            self.channel = try await NIOAsyncTestingChannel { channel in
                try channel.pipeline.syncOperations.addHandler(
                    PeerServerHandler(library: library, checker: checker, metrics: metrics, peerTimeout: Self.timeout))
            }
            try await self.channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).get()
        }

        func remove() { try? FileManager.default.removeItem(at: self.directory) }

        func send(_ inbound: PeerInbound) async throws { try await self.channel.writeInbound(inbound) }

        /// A binary downloader's preface and hello, as user bob.
        func hello() async throws {
            try await self.send(.preface)
            try await self.send(
                .request(.hello(PeerHello(fileID: Self.fileID, group: "team", user: "bob", proof: [7], listenPort: 0))))
        }

        /// A binary downloader admitted: the hello, the tracker's yes, the preface and the welcome read.
        mutating func admit() async throws {
            try await self.hello()
            self.checker.answer(.admitted)
            guard try await self.next() == .preface, case .reply(.welcome) = try await self.next() else {
                throw TestFailure("not welcomed")
            }
        }

        /// Waits for the handler's next write and decodes it.
        mutating func next() async throws -> Output {
            switch try await self.nextWrite() {
            case .byteBuffer(var buffer) where self.text:
                return .line(buffer.readString(length: buffer.readableBytes) ?? "")
            case .byteBuffer(var buffer):
                guard let event = try self.stream.next(&buffer) else { throw TestFailure("a partial frame") }
                switch event {
                case .preface: return .preface
                case .reply(let reply): return .reply(reply)
                case .data: throw TestFailure("piece data in a buffer")
                }
            case .fileRegion(let region):
                var bytes = ByteBuffer(bytes: self.contents[region.readerIndex..<region.endIndex])
                var data: [UInt8] = []
                while let event = try self.stream.next(&bytes) {
                    guard case .data(let chunk, _) = event else { throw TestFailure("not piece data") }
                    data += Array(buffer: chunk)
                }
                return .bytes(data)
            }
        }

        /// The handler's next write; throws when none comes within ten seconds, so a test that expects one too
        /// many fails instead of hanging (the testing channel's wait cannot be cancelled, so it is raced).
        func nextWrite() async throws -> IOData {
            let channel = self.channel
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<IOData, any Error>) in
                let answer = FirstAnswer(continuation)
                Task {
                    do {
                        answer.give(.success(try await channel.waitForOutboundWrite(as: IOData.self)))
                    } catch {
                        answer.give(.failure(error))
                    }
                }
                Task {
                    try? await Task.sleep(for: .seconds(10))
                    answer.give(.failure(TestFailure("no write from the handler within 10 s")))
                }
            }
        }

        /// Whether the handler has written nothing more by now.
        func isQuiet() async throws -> Bool { try await self.channel.readOutbound(as: IOData.self) == nil }
    }

    /// Resumes a continuation with the first result given, and ignores the others.
    final class FirstAnswer: Sendable {
        private let continuation: Mutex<CheckedContinuation<IOData, any Error>?>

        init(_ continuation: CheckedContinuation<IOData, any Error>) { self.continuation = Mutex(continuation) }

        func give(_ result: Result<IOData, any Error>) {
            self.continuation.withLock { pending in
                pending?.resume(with: result)
                pending = nil
            }
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test func admittedDownloaderGetsTheWelcomeThenItsPieces() async throws {
        var connection = try await Connection()
        defer { connection.remove() }
        try await connection.hello()
        #expect(try await connection.next() == .preface)
        #expect(try await connection.isQuiet(), "welcomed before the tracker answered")
        connection.checker.answer(.admitted)
        #expect(try await connection.next() == .reply(.welcome(PeerWelcome(bitfield: [0b1101_0000], peers: []))))

        try await connection.send(.request(.request(PieceRange(piece: 1, offset: 4, length: 8))))
        #expect(try await connection.next() == .reply(.piece(PieceRange(piece: 1, offset: 4, length: 8))))
        #expect(try await connection.next() == .bytes(Array(connection.contents[20..<28])))
        try await connection.send(.request(.request(PieceRange(piece: 3, offset: 0, length: 4))))
        #expect(try await connection.next() == .reply(.piece(PieceRange(piece: 3, offset: 0, length: 4))))
        #expect(try await connection.next() == .bytes(Array(connection.contents[48..<52])))
        #expect(connection.channel.isActive)
        // What was sent is counted to the user the tracker admitted, once it is written.
        let sent = #"tandem_peer_sent_bytes_total{group="team",file="movie.mkv",to="bob"} 12"#
        #expect(connection.metrics.render().contains(sent), "\(connection.metrics.render())")
    }

    @Test func aRequestBeforeTheCheckReturnsEndsTheConnection() async throws {
        var connection = try await Connection()
        defer { connection.remove() }
        try await connection.hello()
        #expect(try await connection.next() == .preface)
        try await connection.send(.request(.request(PieceRange(piece: 0, offset: 0, length: 16))))
        #expect(
            try await connection.next()
                == .reply(.error(code: .badRequest, message: "request sent before the welcome; wait for it")))
        // (That a verdict arriving after this admits nobody is the state machine's test: the channel is closed.)
        try await connection.channel.closeFuture.get()
    }

    @Test func badRangesAreRejectedAndTheConnectionGoesOn() async throws {
        var connection = try await Connection()
        defer { connection.remove() }
        try await connection.admit()
        let missing = PieceRange(piece: 2, offset: 0, length: 16)
        let outside = PieceRange(piece: 0, offset: 10, length: 7)
        try await connection.send(.request(.request(missing)))
        #expect(
            try await connection.next()
                == .reply(.rejected(missing, code: .notFound, message: "piece 2 is not here yet")))
        try await connection.send(.request(.request(outside)))
        #expect(
            try await connection.next()
                == .reply(.rejected(outside, code: .invalid, message: "bytes 10+7 are outside piece 0 of 16 bytes")))
        try await connection.send(.request(.request(PieceRange(piece: 0, offset: 0, length: 2))))
        #expect(try await connection.next() == .reply(.piece(PieceRange(piece: 0, offset: 0, length: 2))))
    }

    @Test func nothingIsWrittenWhileTheDownloaderDoesNotReadAndAFloodIsCutOff() async throws {
        var connection = try await Connection()
        defer { connection.remove() }
        try await connection.admit()
        connection.channel.isWritable = false
        connection.channel.pipeline.fireChannelWritabilityChanged()
        let range = PieceRange(piece: 0, offset: 0, length: 16)
        for _ in 0..<PeerServerHandler.maxQueued { try await connection.send(.request(.request(range))) }
        #expect(try await connection.isQuiet(), "pieces written to a downloader that does not read")

        connection.channel.isWritable = true
        connection.channel.pipeline.fireChannelWritabilityChanged()
        #expect(try await connection.next() == .reply(.piece(range)))
        #expect(try await connection.next() == .bytes(Array(connection.contents[0..<16])))
        for _ in 1..<PeerServerHandler.maxQueued {
            _ = try await connection.next()
            _ = try await connection.next()
        }

        connection.channel.isWritable = false
        connection.channel.pipeline.fireChannelWritabilityChanged()
        for _ in 0...PeerServerHandler.maxQueued { try await connection.send(.request(.request(range))) }
        guard case .reply(.error(.tooLarge, let message)) = try await connection.next() else {
            Issue.record("the flood was not refused")
            return
        }
        #expect(message.contains("more than \(PeerServerHandler.maxQueued) requests queued"))
        try await connection.channel.closeFuture.get()
    }

    @Test func aDownloaderThatStopsReadingIsClosedAfterThePeerTimeout() async throws {
        var connection = try await Connection()
        defer { connection.remove() }
        try await connection.admit()
        connection.channel.isWritable = false
        connection.channel.pipeline.fireChannelWritabilityChanged()
        await connection.channel.testingEventLoop.advanceTime(by: Connection.timeout - .seconds(1))
        #expect(connection.channel.isActive)
        await connection.channel.testingEventLoop.advanceTime(by: .seconds(1))
        try await connection.channel.closeFuture.get()
    }

    @Test func aConnectionWithoutAHelloIsClosedAfterThePeerTimeout() async throws {
        var connection = try await Connection()
        defer { connection.remove() }
        try await connection.send(.preface)
        #expect(try await connection.next() == .preface)
        await connection.channel.testingEventLoop.advanceTime(by: Connection.timeout)
        #expect(
            try await connection.next() == .reply(.error(code: .badRequest, message: "no hello within 30 s; closing")))
        try await connection.channel.closeFuture.get()
    }

    @Test func newPiecesAreAnnouncedAndAWithdrawnFileEndsTheConnection() async throws {
        var connection = try await Connection()
        defer { connection.remove() }
        try await connection.admit()
        connection.file.add(2)
        #expect(try await connection.next() == .reply(.have(2)))
        connection.file.disconnectAll("movie.mkv is no longer shared by this peer")
        #expect(
            try await connection.next()
                == .reply(.error(code: .notFound, message: "movie.mkv is no longer shared by this peer")))
        try await connection.channel.closeFuture.get()
    }

    @Test func aDownloaderWhoLeftTheGroupIsCutOffAtTheRecheck() async throws {
        var connection = try await Connection()
        defer { connection.remove() }
        try await connection.admit()
        connection.checker.answer(.refused("bob is not a member of team"))
        await connection.channel.testingEventLoop.advanceTime(by: .seconds(5))
        #expect(
            try await connection.next()
                == .reply(
                    .error(
                        code: .forbidden, message: "bob may no longer download from team: bob is not a member of team"))
        )
        #expect(connection.checker.checks == 2)
        try await connection.channel.closeFuture.get()
    }

    @Test func aTextClientIsAnsweredInLines() async throws {
        var connection = try await Connection()
        defer { connection.remove() }
        connection.text = true
        try await connection.send(.text(.getPiece(file: "movie.mkv", index: 0)))
        guard case .line(let early) = try await connection.next() else { Issue.record(); return }
        #expect(early.hasPrefix("ERR|not_logged_in|"))
        try await connection.send(.text(.hello(user: "bob", group: "team", proof: [7])))
        connection.checker.answer(.admitted)
        #expect(try await connection.next() == .line("OK\n"))
        try await connection.send(.text(.getPiece(file: "movie.mkv", index: 3)))
        #expect(try await connection.next() == .line("OK|3|4\n"))
        guard case .fileRegion(let region) = try await connection.nextWrite() else {
            Issue.record("no piece bytes")
            return
        }
        #expect(region.readerIndex == 48 && region.endIndex == 52)
        try await connection.send(.text(.getPiece(file: "movie.mkv", index: 2)))
        #expect(try await connection.next() == .line("ERR|not_found|piece 2 is not here yet\n"))
        try await connection.send(.invalid(.unknownCommand("NOPE"), binary: false))
        guard case .line(let unknown) = try await connection.next() else { Issue.record(); return }
        #expect(unknown.hasPrefix("ERR|unknown_command|"))
        #expect(connection.channel.isActive)
    }

    @Test func aFileWithdrawnWhileTheTrackerIsAskedIsNotServed() async throws {
        var connection = try await Connection()
        defer { connection.remove() }
        try await connection.hello()
        #expect(try await connection.next() == .preface)
        connection.library.remove(connection.file.fileIDHex, in: connection.file.group)?.disconnectAll(
            "movie.mkv is no longer shared")
        connection.checker.answer(.admitted)
        #expect(
            try await connection.next()
                == .reply(.error(code: .notFound, message: "movie.mkv is no longer shared by this peer")))
        try await connection.channel.closeFuture.get()
    }
}
