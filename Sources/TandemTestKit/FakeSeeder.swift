import Foundation
import NIOCore
import Synchronization
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// A peer that misbehaves on purpose, for the downloader's tests: it admits anyone, says it has every piece
/// of `path`, names `peers` in its welcome, and answers requests as `behavior` says.
public final class FakeSeeder: Sendable {
    public enum Behavior: Sendable {
        /// Every piece as it is: for a seeder whose lie is elsewhere (its peer list).
        case honest
        /// Every piece's bytes arrive with each byte flipped: the right length, the wrong SHA1.
        case corrupt
        /// The first `pieces` requests get good data; the rest get nothing, on open connections.
        case stallAfter(pieces: Int)
        /// Half of the first piece asked for (its header promises all of it), then nothing more.
        case halfThenStall
    }

    /// The port it listens on.
    public let port: Int
    private let listener: Int32
    private let path: String
    private let pieceSize: Int
    private let behavior: Behavior
    private let peers: [PeerAddress]
    private let requests = Atomic<Int>(0)
    private let connections = Mutex<[Int32]>([])

    /// Piece requests received so far, over every connection.
    public var requestCount: Int { self.requests.load(ordering: .relaxed) }

    /// Listens on 127.0.0.1 and a free port, serving `path` in pieces of `pieceSize` bytes.
    public init(path: String, pieceSize: Int, behavior: Behavior, peers: [PeerAddress] = []) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound else { throw SocketError(description: "fake seeder cannot listen: errno \(errno)") }
        self.listener = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.path = path
        self.pieceSize = pieceSize
        self.behavior = behavior
        self.peers = peers
        Thread.detachNewThread { self.acceptLoop() }
    }

    /// Stops listening and closes every connection.
    public func stop() {
        shutdown(self.listener, Int32(SHUT_RDWR))
        for fd in self.connections.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let fd = accept(self.listener, nil, nil)
            guard fd >= 0 else { return }
            self.connections.withLock { $0.append(fd) }
            Thread.detachNewThread { self.serve(LineSocket(accepted: fd)) }
        }
    }

    private func serve(_ socket: LineSocket) {
        guard let file = FileHandle(forReadingAtPath: self.path),
            let size = try? FileManager.default.attributesOfItem(atPath: self.path)[.size] as? Int,
            (try? socket.read(exactly: 5)) == PeerPreface.bytes, socket.send(PeerPreface.bytes),
            (try? self.readFrame(socket))?.kind == 0x01
        else { return }
        let pieces = (size + self.pieceSize - 1) / self.pieceSize
        var welcome = ByteBuffer()
        var bitfield = [UInt8](repeating: 0xFF, count: (pieces + 7) / 8)
        if pieces % 8 != 0 { bitfield[bitfield.count - 1] = 0xFF << (8 - pieces % 8) }
        welcome.writePeerReply(.welcome(PeerWelcome(bitfield: bitfield, peers: self.peers)))
        guard socket.send(Array(welcome.readableBytesView)) else { return }
        var stalled = false
        while let frame = try? self.readFrame(socket) {
            guard frame.kind == 0x02, frame.payload.count == 12, !stalled else { continue }
            let piece = frame.payload.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) }
            let served = self.requests.add(1, ordering: .relaxed).newValue
            try? file.seek(toOffset: UInt64(Int(piece) * self.pieceSize))
            var data = Array(file.readData(ofLength: self.pieceSize))
            var header = ByteBuffer()
            header.writePeerReply(.piece(PieceRange(piece: piece, offset: 0, length: UInt32(data.count))))
            switch self.behavior {
            case .corrupt:
                data = data.map { ~$0 }
            case .stallAfter(let count) where served > count:
                continue
            case .stallAfter, .honest:
                break
            case .halfThenStall:
                data = Array(data.prefix(data.count / 2))
                stalled = true
            }
            guard socket.send(Array(header.readableBytesView) + data) else { return }
        }
    }

    private func readFrame(_ socket: LineSocket) throws -> (kind: UInt8, payload: [UInt8]) {
        let length = try socket.read(exactly: 4).reduce(0) { $0 << 8 | Int($1) }
        let body = try socket.read(exactly: length)
        return (body[0], Array(body.dropFirst()))
    }
}
