import CLinux
import Foundation
import Synchronization

/// A program the tests run: started with `posix_spawn`, inheriting only standard input, output and error, and reaped
/// by polling its own pid.
///
/// Foundation's `Process` is not used here: it gives each child a socket pair that is not close-on-exec, so a child
/// started by another thread at the same moment can inherit it, and one thread reaps every child in turn with a
/// blocking `waitpid`; either way, a test could wait forever on a child that has exited, behind a daemon of another
/// that is still running.
public final class ChildProcess: Sendable {
    /// How a child ended.
    public enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)

        /// The exit status, or the number of the signal that ended the child (as Foundation's `terminationStatus`).
        public var status: Int32 {
            switch self {
            case .exited(let status), .signaled(let status): status
            }
        }
    }

    /// The child's process id.
    public let processIdentifier: Int32
    /// The program it runs, for messages.
    public let name: String
    private let termination = Mutex<Termination?>(nil)

    /// Starts `executable` with `arguments` in `directory`.
    ///
    /// - Parameters:
    ///   - environment: the child's whole environment.
    ///   - input, output, error: descriptors that become the child's standard input, output and error; they stay
    ///     open here, for the caller to close.
    public init(
        _ executable: URL, _ arguments: [String], in directory: URL, environment: [String: String],
        input: Int32, output: Int32, error: Int32
    ) throws {
        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: Int32 = 0
        let result = tandem_spawn(&pid, executable.path, argv, envp, directory.path, input, output, error)
        guard result == 0 else {
            throw SocketError(description: "cannot start \(executable.path): \(String(cString: strerror(result)))")
        }
        self.processIdentifier = pid
        self.name = executable.lastPathComponent
    }

    /// Whether the child has not exited yet (reaping it if it has).
    public var isRunning: Bool { self.reap() == nil }

    /// How the child ended; nil while it runs.
    public var terminationIfEnded: Termination? { self.reap() }

    /// Sends `signal` to the child, unless it has been reaped (its pid could then be another process's).
    public func send(_ signal: Int32) {
        self.termination.withLock { if $0 == nil { _ = Glibc.kill(self.processIdentifier, signal) } }
    }

    /// Waits until the child exits and returns how; throws when it still runs after `timeout`.
    @discardableResult
    public func wait(timeout: Duration) throws -> Termination {
        try eventually("\(self.name) (pid \(self.processIdentifier)) to exit", timeout: timeout, poll: .milliseconds(2))
        {
            self.terminationIfEnded
        }
    }

    /// Kills the child and whatever it started in its process group with SIGKILL, and waits (ten seconds at
    /// most) until it is reaped.
    public func kill() {
        self.termination.withLock { if $0 == nil { _ = Glibc.kill(-self.processIdentifier, SIGKILL) } }
        _ = try? self.wait(timeout: .seconds(10))
    }

    private func reap() -> Termination? {
        self.termination.withLock { termination in
            if let termination { return termination }
            var status: Int32 = 0
            var result: Int32
            repeat {
                result = waitpid(self.processIdentifier, &status, WNOHANG)
            } while result == -1 && errno == EINTR
            guard result == self.processIdentifier else { return nil }
            let signal = status & 0x7f
            termination = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
            return termination
        }
    }
}

/// An unnamed file in the temporary directory (unlinked at once), for a child's standard input, output or error.
final class ScratchFile {
    let descriptor: Int32

    /// A new file holding `contents`, read from its start.
    init(contents: String = "") throws {
        // mkstemp's template: it replaces the last six characters, which must be X's.
        let name = "tandem-child-" + String(repeating: "X", count: 6)
        var template = Array((FileManager.default.temporaryDirectory.path + "/" + name).utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw SocketError(description: "cannot create a scratch file: errno \(errno)") }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        self.descriptor = descriptor
        let bytes = Array(contents.utf8)
        guard bytes.withUnsafeBytes({ pwrite(descriptor, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            close(descriptor)
            throw SocketError(description: "cannot write a scratch file: errno \(errno)")
        }
    }

    deinit { close(self.descriptor) }

    /// Everything the file holds.
    func contents() -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes {
                pread(self.descriptor, $0.baseAddress, $0.count, off_t(bytes.count))
            }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
