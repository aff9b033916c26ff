import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a ``LineSocket`` could not do.
public struct SocketError: Error, CustomStringConvertible {
    /// What failed, with the errno.
    public let description: String

    /// An error that says `description`.
    public init(description: String) {
        self.description = description
    }
}

/// A blocking TCP client for tests: raw bytes and text lines, with a receive timeout.
public final class LineSocket {
    private let fd: Int32
    private var pending: [UInt8] = []

    /// Connects to `host:port` (IPv4), with `timeout` on every receive. A `receiveBuffer` size (bytes) pins the
    /// kernel's receive buffer small, so a client that does not read pushes back on the sender soon. A `source`
    /// address (another of 127.0.0.0/8, say) makes the connection come from there.
    public init(
        host: String = "127.0.0.1", port: Int, timeout: Duration = .seconds(10), receiveBuffer: Int32? = nil,
        source: String? = nil
    ) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(description: "socket: errno \(errno)") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                let code = errno
                close(fd)
                throw SocketError(description: "bind to \(source): errno \(code)")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw SocketError(description: "connect to \(host):\(port): errno \(code)")
        }
        var tv = timeval(
            tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        self.fd = fd
    }

    /// Wraps a connection a listening socket accepted.
    public init(accepted fd: Int32) {
        self.fd = fd
    }

    deinit { close(self.fd) }

    /// Sends raw bytes; returns false once the peer has closed the connection.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes {
                Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if count <= 0 { return false }
            offset += count
        }
        return true
    }

    /// Sends as much of `bytes` as the peer takes, until all are sent or the peer takes nothing for `stall`;
    /// returns how many bytes were sent. "Takes nothing" is measured on this socket's send queue, which a peer
    /// that reads slowly still drains: only a peer that stopped reading leaves it unchanged for `stall`.
    public func send(_ bytes: [UInt8], untilStalledFor stall: Duration) -> Int {
        let clock = ContinuousClock()
        var offset = 0
        var lastProgress = clock.now
        var queued = self.unsentBytes
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes {
                Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if count > 0 {
                offset += count
                lastProgress = clock.now
                queued = self.unsentBytes
                continue
            }
            guard count < 0, errno == EAGAIN || errno == EWOULDBLOCK else { return offset }
            var pending = pollfd(fd: self.fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&pending, 1, 100)
            let now = self.unsentBytes
            if now < queued { lastProgress = clock.now }
            queued = now
            if clock.now - lastProgress >= stall { return offset }
        }
        return offset
    }

    /// The bytes written to this socket that the peer has not taken yet (the kernel's send queue).
    private var unsentBytes: Int32 {
        var count: Int32 = 0
        _ = ioctl(self.fd, UInt(TIOCOUTQ), &count)
        return count
    }

    /// Closes the sending side (the client says it will send nothing more) and keeps receiving.
    public func shutdownWrite() {
        shutdown(self.fd, Int32(SHUT_WR))
    }

    /// Sends `line` followed by a newline.
    @discardableResult
    public func send(line: String) -> Bool { self.send(Array((line + "\n").utf8)) }

    /// Sends `line` and returns the one-line reply.
    public func request(_ line: String) throws -> String {
        self.send(line: line)
        return try self.readLine()
    }

    /// Reads up to the next newline (not included); throws on timeout or close.
    public func readLine() throws -> String {
        while true {
            if let newline = self.pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: self.pending[..<newline], as: UTF8.self)
                self.pending.removeSubrange(...newline)
                return line
            }
            guard let chunk = try self.receive() else {
                throw SocketError(description: "connection closed before a full line")
            }
            self.pending += chunk
        }
    }

    /// Reads exactly `count` bytes; throws on timeout or close.
    public func read(exactly count: Int) throws -> [UInt8] {
        while self.pending.count < count {
            guard let chunk = try self.receive() else {
                throw SocketError(description: "connection closed after \(self.pending.count) of \(count) bytes")
            }
            self.pending += chunk
        }
        defer { self.pending.removeFirst(count) }
        return Array(self.pending.prefix(count))
    }

    /// Waits until the peer closes the connection, discarding what arrives; throws on timeout.
    public func waitForClose() throws {
        while try self.receive() != nil {}
    }

    /// Whatever bytes are buffered or arrive next; nil when the peer closed; throws on timeout.
    public func readSome() throws -> [UInt8]? {
        if !self.pending.isEmpty {
            defer { self.pending.removeAll() }
            return self.pending
        }
        return try self.receive()
    }

    /// The next bytes, nil when the peer closed; throws on timeout or error.
    private func receive() throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
        if count == 0 { return nil }
        if count < 0 {
            if errno == ECONNRESET { return nil }
            throw SocketError(description: "receive failed or timed out: errno \(errno)")
        }
        return Array(buffer.prefix(count))
    }
}
