import Cluster
import Foundation
import TrackerClient

/// Where a drill reaches a tracker's process and its host's firewall: this machine for a tracker on loopback, its
/// host over ssh for any other (as root by default, the user `scripts/deploy` installs as).
struct DrillHosts: Sendable {
    /// An `ssh_config` to pass to ssh (`-F`), such as a test rig's.
    var sshConfig: String?
    /// Who ssh logs in as on the trackers' hosts.
    var sshUser = "root"

    /// Whether `host` is this machine's loopback, where the drill acts directly.
    static func isLoopback(_ host: String) -> Bool {
        host.hasPrefix("127.") || host == "localhost" || host == "::1"
    }

    /// Whether the drill reaches `tracker` over ssh.
    func isRemote(_ tracker: TrackerConfig) -> Bool { !Self.isLoopback(tracker.host) }

    /// The signals a drill sends, by the names `kill -s` takes.
    enum Signal: String {
        case kill = "KILL"
        case stop = "STOP"
        case cont = "CONT"

        var number: Int32 {
            switch self {
            case .kill: SIGKILL
            case .stop: SIGSTOP
            case .cont: SIGCONT
            }
        }
    }

    /// Sends `signal` to process `pid` of `tracker`'s host.
    func send(_ signal: Signal, to pid: Int32, of tracker: TrackerConfig) throws(ClientError) {
        guard self.isRemote(tracker) else {
            guard kill(pid, signal.number) == 0 else {
                throw .failed("cannot send SIG\(signal.rawValue) to \(tracker.id) (pid \(pid)): errno \(errno)")
            }
            return
        }
        try self.run(["/bin/kill", "-s", signal.rawValue, "\(pid)"], on: tracker.host)
    }

    /// Runs `arguments` (an absolute path first) on `host`, here when it is loopback, with `input` on its standard
    /// input.
    func run(_ arguments: [String], input: String? = nil, on host: String) throws(ClientError) {
        let command: [String]
        if Self.isLoopback(host) {
            command = arguments
        } else {
            var ssh = ["/usr/bin/ssh"]
            if let config = self.sshConfig { ssh += ["-F", config] }
            // A host that does not answer fails the drill within seconds; a password prompt cannot stall it.
            ssh += ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5"]
            // The remote shell joins the words again, so each goes quoted.
            command = ssh + ["\(self.sshUser)@\(host)", "--"] + arguments.map(Self.quoted)
        }
        try Self.execute(command, input: input, describing: arguments.joined(separator: " "), on: host)
    }

    /// `word` quoted for a POSIX shell.
    static func quoted(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    private static func execute(
        _ command: [String], input: String?, describing what: String, on host: String
    ) throws(ClientError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let stdin = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        do {
            try process.run()
        } catch {
            throw .failed("cannot run \(command[0]) for `\(what)` on \(host): \(error)")
        }
        try? stdin.fileHandleForWriting.write(contentsOf: Data((input ?? "").utf8))
        try? stdin.fileHandleForWriting.close()
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw .failed(
                "`\(what)` on \(host) failed (exit \(process.terminationStatus)): "
                    + message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}
