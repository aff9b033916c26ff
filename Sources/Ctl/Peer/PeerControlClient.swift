import Foundation
import PeerControl
import TrackerClient

/// Talks to the user's peer daemon over `<home>/peer/peer.sock`, starting the daemon first when none answers.
struct PeerControlClient {
    let configPath: String
    let home: String

    var socketPath: String { ControlRequest.socketPath(home: self.home) }
    var logPath: String { self.home + "/peer.log" }

    /// Sends `request`; `onProgress` sees progress lines; returns the final reply, failures thrown.
    func send(_ request: ControlRequest, onProgress: (WorkProgress) -> Void = { _ in }) throws -> ControlReply {
        let socket = try self.connect(startingIfNeeded: request != .stop && request != .status)
        defer { close(socket) }
        var line = try JSONEncoder().encode(request)
        line.append(UInt8(ascii: "\n"))
        guard line.withUnsafeBytes({ Foundation.write(socket, $0.baseAddress, $0.count) }) == line.count else {
            throw ClientError.failed("cannot send the command to the peer daemon: \(String(cString: strerror(errno)))")
        }
        var reader = LineReader(socket: socket)
        while let text = reader.next() {
            let reply = try JSONDecoder().decode(ControlReply.self, from: text)
            switch reply {
            case .progress(let progress): onProgress(progress)
            case .failed(let message, let exitCode): throw PeerCommandFailure(message: message, exitCode: exitCode)
            default: return reply
            }
        }
        throw ClientError.failed("the peer daemon closed the connection without an answer; see \(self.logPath)")
    }

    /// Whether a daemon answers now.
    var isRunning: Bool {
        guard let socket = try? self.connect(startingIfNeeded: false) else { return false }
        close(socket)
        return true
    }

    private func connect(startingIfNeeded: Bool) throws -> Int32 {
        // A daemon is only as trustworthy as the home its socket is in.
        if FileManager.default.fileExists(atPath: self.home) { try PrivateFile.checkOwnDirectory(self.home) }
        if let socket = Self.connect(path: self.socketPath) { return socket }
        guard startingIfNeeded else {
            throw ClientError.failed("no peer daemon runs for \(self.home)")
        }
        let pid = try self.startDaemon()
        Console.error("tandemctl: started the peer daemon (pid \(pid); log in \(self.logPath))")
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if let socket = Self.connect(path: self.socketPath) { return socket }
            if kill(pid, 0) != 0 {
                throw ClientError.failed("the peer daemon exited at once; see \(self.logPath)")
            }
            usleep(20_000)
        }
        throw ClientError.failed("the peer daemon did not answer within 15s; see \(self.logPath)")
    }

    /// Starts `tandemd peer` in the background, in its own session, logging to `peer.log`, holding no other
    /// descriptor of ours.
    private func startDaemon() throws -> pid_t {
        guard let tandemd = TandemdLocator.find() else {
            throw ClientError.failed("cannot find tandemd in \(TandemdLocator.searched) to start the peer daemon")
        }
        try PrivateFile.makeOwnDirectory(self.home)
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, self.logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else this process holds (a parent's pipes, sockets) stays open for the daemon's lifetime.
        for descriptor in Self.openDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Self.spawnInNewSession)
        let arguments = [tandemd, "peer", "--config", self.configPath, "--home", self.home]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, tandemd, &actions, &attributes, &argv, environ)
        guard result == 0 else {
            throw ClientError.failed("cannot start \(tandemd): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// This process's open file descriptors, from /proc/self/fd.
    private static func openDescriptors() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { Int32($0) }
    }

    /// glibc's `POSIX_SPAWN_SETSID` (not exported to Swift): the daemon leaves the terminal's session, so a
    /// Ctrl-C in it does not stop the daemon.
    private static let spawnInNewSession: Int16 = 0x80

    private static func connect(path: String) -> Int32? {
        let socket = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(socket)
            return nil
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(socket)
            return nil
        }
        return socket
    }
}

/// The daemon refused or failed a command.
struct PeerCommandFailure: Error, CustomStringConvertible {
    let message: String
    let exitCode: Int32
    var description: String { self.message }
}

/// Reads `\n`-ended lines from a socket.
private struct LineReader {
    let socket: Int32
    private var buffer: [UInt8] = []

    init(socket: Int32) { self.socket = socket }

    mutating func next() -> Data? {
        while true {
            if let newline = self.buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(self.buffer[..<newline])
                self.buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 64 << 10)
            let count = chunk.withUnsafeMutableBytes { read(self.socket, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            self.buffer += chunk[..<count]
        }
    }
}
