import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a finished `tandemctl` run printed and returned.
public struct CommandResult: Sendable, CustomStringConvertible {
    /// The exit status.
    public var status: Int32
    /// What it printed on standard output.
    public var stdout: String
    /// What it printed on standard error.
    public var stderr: String

    /// Status and both outputs, for a failed expectation's message.
    public var description: String { "exit \(self.status)\nstdout: \(self.stdout)\nstderr: \(self.stderr)" }
}

/// A cluster of real `tandemd` processes in a temporary directory, on ports picked and checked free.
///
/// Writes `cluster.yaml` and a secret, starts and stops trackers, and runs `tandemctl` against them.
public final class TestCluster {
    /// The temporary directory holding the cluster file, the secret, data dirs and logs.
    public let directory: URL
    /// The cluster file's path.
    public let configPath: String
    /// Client ports by tracker id.
    public let clientPorts: [String: Int]
    /// Sync ports by tracker id.
    public let syncPorts: [String: Int]
    private var processes: [String: ChildProcess] = [:]

    /// Writes a two-tracker cluster file; `extraYAML` adds sections (limits, storage).
    public init(pieceSize: String = "512KiB", extraYAML: String = "") throws {
        self.directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tandem-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        let ports = try Self.freePorts(4)
        self.clientPorts = ["t1": ports[0], "t2": ports[1]]
        self.syncPorts = ["t1": ports[2], "t2": ports[3]]
        let yaml = """
            cluster:
              name: test
              piece_size: \(pieceSize)
              secret_file: cluster.secret
            trackers:
              - { id: t1, host: 127.0.0.1, client_port: \(ports[0]), sync_port: \(ports[2]), data_dir: data/t1 }
              - { id: t2, host: 127.0.0.1, client_port: \(ports[1]), sync_port: \(ports[3]), data_dir: data/t2 }
            \(extraYAML)
            """
        self.configPath = self.directory.appendingPathComponent("cluster.yaml").path
        try yaml.write(toFile: self.configPath, atomically: false, encoding: .utf8)
        try "0123456789abcdef0123456789abcdef\n".write(
            toFile: self.directory.appendingPathComponent("cluster.secret").path, atomically: false, encoding: .utf8)
    }

    deinit {
        for process in self.processes.values { process.kill() }
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// The cluster secret the file holds.
    public var secret: [UInt8] { Array("0123456789abcdef0123456789abcdef".utf8) }

    /// Starts tracker `id` logging at `logLevel` and waits until its client port accepts connections.
    ///
    /// - Parameter alone: run it with `--alone` (primary at once, no replication), for tests of one tracker;
    ///   otherwise it joins the pair.
    public func start(_ id: String = "t1", logLevel: String = "info", alone: Bool = true) throws {
        let arguments = ["tracker", "--config", self.configPath, "--id", id, "--log-level", logLevel]
        let process = try self.launch(Binaries.tandemd, arguments + (alone ? ["--alone"] : []), log: id)
        try self.waitUntilAccepting(id, while: process)
    }

    /// Starts both trackers as a pair.
    public func startPair(logLevel: String = "info") throws {
        try self.start("t1", logLevel: logLevel, alone: false)
        try self.start("t2", logLevel: logLevel, alone: false)
    }

    /// Starts `executable` in the cluster directory with its output appended to `<log>.log`; the cluster kills
    /// it when it goes away.
    public func launch(_ executable: URL, _ arguments: [String], log: String) throws -> ChildProcess {
        let path = self.directory.appendingPathComponent("\(log).log").path
        let output = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw SocketError(description: "cannot open \(path): errno \(errno)") }
        defer { close(output) }
        let input = try ScratchFile()
        let process = try ChildProcess(
            executable, arguments, in: self.directory, environment: ProcessInfo.processInfo.environment,
            input: input.descriptor, output: output, error: output)
        self.processes[log] = process
        return process
    }

    /// Waits until tracker `id`'s client port accepts connections; fails early if `process` exits.
    public func waitUntilAccepting(_ id: String, while process: ChildProcess) throws {
        let port = self.clientPorts[id]!
        _ = try eventually("tracker \(id) to accept on port \(port)") { () -> Bool? in
            guard process.isRunning else { throw SocketError(description: "\(process.name) exited: \(self.log(id))") }
            return (try? LineSocket(port: port)) != nil ? true : nil
        }
    }

    /// Tracker `id`'s `STATUS` fields (`role`, `epoch`, `applied_seq`, `backup`...), or nil when it does not
    /// answer within two seconds.
    public func status(_ id: String) -> [String: String]? {
        Self.status(host: "127.0.0.1", port: self.clientPorts[id]!)
    }

    /// The `STATUS` fields of the tracker whose client port is `host:port`, or nil when it does not answer within
    /// two seconds.
    public static func status(host: String, port: Int) -> [String: String]? {
        guard let socket = try? LineSocket(host: host, port: port, timeout: .seconds(2)),
            socket.send(line: "STATUS"),
            let line = try? socket.readLine(), line.hasPrefix("OK")
        else { return nil }
        let fields = line.split(separator: "|").dropFirst().compactMap { field -> (String, String)? in
            guard let equals = field.firstIndex(of: "=") else { return nil }
            return (String(field[..<equals]), String(field[field.index(after: equals)...]))
        }
        return Dictionary(fields) { _, last in last }
    }

    /// Waits until tracker `id` is primary and the other tracker is its backup, in sync (writes wait for it);
    /// returns the primary's status.
    ///
    /// The backup must know it too (`in_sync=yes` in its STATUS): until the primary's next message says so, the
    /// backup would not take over from a primary killed at once.
    @discardableResult
    public func waitForPair(primary id: String, timeout: Duration = .seconds(20)) throws -> [String: String] {
        let backup = self.clientPorts.keys.first { $0 != id }
        return try eventually("\(id) to be primary with its backup in sync", timeout: timeout) {
            guard let status = self.status(id), status["role"] == "primary", status["backup"] == "in_sync",
                backup.map({ self.status($0)?["in_sync"] == "yes" }) ?? true
            else { return nil }
            return status
        }
    }

    /// Waits until tracker `id` says it is `role`; returns its status.
    @discardableResult
    public func waitForRole(_ role: String, of id: String, timeout: Duration = .seconds(20)) throws -> [String: String]
    {
        try eventually("\(id) to be \(role)", timeout: timeout) {
            guard let status = self.status(id), status["role"] == role else { return nil }
            return status
        }
    }

    /// Waits until tracker `id` has applied every op through `seq`.
    public func waitForApplied(_ id: String, through seq: UInt64, timeout: Duration = .seconds(20)) throws {
        _ = try eventually("\(id) to apply through seq \(seq)", timeout: timeout) {
            (self.status(id)?["applied_seq"].flatMap(UInt64.init) ?? 0) >= seq ? true : nil
        }
    }

    /// The session token `tandemctl login` saved in `home`.
    public func sessionToken(home: String = "user") throws -> String {
        try String(contentsOf: self.directory.appendingPathComponent("\(home)/session"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every group name tracker `id` lists, read from it alone with the session `token`.
    public func groups(on id: String, token: String) throws -> Set<String> {
        let socket = try LineSocket(port: self.clientPorts[id]!)
        socket.send(line: "RESUME|\(token)")
        let resumed = try socket.readLine()
        guard resumed.hasPrefix("OK|") else { throw SocketError(description: "RESUME on \(id): \(resumed)") }
        socket.send(line: "LIST_GROUPS")
        let line = try socket.readLine()
        guard line.hasPrefix("OK") else { throw SocketError(description: "LIST_GROUPS on \(id): \(line)") }
        return Set(line.split(separator: "|").dropFirst().map { String($0[..<($0.lastIndex(of: ":") ?? $0.endIndex)]) })
    }

    /// How many times each group is created in tracker `id`'s op log, read offline with `tandemctl log`.
    public func createdGroups(inLogOf id: String) throws -> [String: Int] {
        let result = try self.ctl(["log", "--tracker", id, "--json"])
        guard result.status == 0 else { throw SocketError(description: "tandemctl log: \(result.stderr)") }
        var counts: [String: Int] = [:]
        for line in result.stdout.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            guard object?["op"] as? String == "create_group",
                let group = (object?["fields"] as? [String: String])?["group"]
            else { continue }
            counts[group, default: 0] += 1
        }
        return counts
    }

    /// The pid of tracker `id`'s process.
    public func pid(_ id: String) -> Int32? { self.processes[id]?.processIdentifier }

    /// Sends `signal` to tracker `id` and waits for it to exit; returns its exit status (or the signal that ended
    /// it).
    @discardableResult
    public func stop(_ id: String = "t1", signal: Int32 = SIGTERM) throws -> Int32 {
        guard let process = self.processes[id] else { return 0 }
        process.send(signal)
        return try self.waitForExit(id)
    }

    /// Waits for tracker `id` to exit by itself (after QUIT); returns its exit status (or the signal that ended it).
    public func waitForExit(_ id: String = "t1") throws -> Int32 {
        guard let process = self.processes[id] else { return 0 }
        let status = try process.wait(timeout: .seconds(20)).status
        self.processes[id] = nil
        return status
    }

    /// What tracker `id` has logged so far.
    public func log(_ id: String) -> String {
        (try? String(contentsOf: self.directory.appendingPathComponent("\(id).log"), encoding: .utf8)) ?? ""
    }

    /// Runs `tandemctl ARGS --config <cluster> --home <home>` and waits for it.
    ///
    /// - Parameters:
    ///   - home: the user's home dir (session file) under the cluster directory.
    ///   - stdin: text fed to standard input (for `--password-stdin` and `shell`).
    public func ctl(_ arguments: [String], home: String = "user", stdin: String? = nil) throws -> CommandResult {
        let homePath = self.directory.appendingPathComponent(home).path
        return try Self.run(
            Binaries.tandemctl, arguments + ["--config", self.configPath, "--home", homePath], stdin: stdin,
            in: self.directory)
    }

    /// Runs an executable to completion, capturing its output.
    ///
    /// - Parameter environment: variables set on top of this process's own (less `TANDEM_PASSWORD`).
    public static func run(
        _ executable: URL, _ arguments: [String], stdin: String?, in directory: URL,
        environment: [String: String] = [:],
        timeout: Duration = TestCluster.commandTimeout
    ) throws -> CommandResult {
        var inherited = ProcessInfo.processInfo.environment
        inherited["TANDEM_PASSWORD"] = nil
        let input = try ScratchFile(contents: stdin ?? "")
        let output = try ScratchFile()
        let errors = try ScratchFile()
        let process = try ChildProcess(
            executable, arguments, in: directory, environment: inherited.merging(environment) { $1 },
            input: input.descriptor, output: output.descriptor, error: errors.descriptor)
        let termination: ChildProcess.Termination
        do {
            termination = try process.wait(timeout: timeout)
        } catch {
            process.kill()
            throw SocketError(
                description: "\(executable.lastPathComponent) \(arguments.joined(separator: " ")) still ran after "
                    + "\(timeout); killed it. Output: \(output.contents()) \(errors.contents())")
        }
        return CommandResult(status: termination.status, stdout: output.contents(), stderr: errors.contents())
    }

    /// How long ``run(_:_:stdin:in:environment:timeout:)`` lets a command run by default before it kills it and
    /// fails.
    public static let commandTimeout = Duration.seconds(120)

    /// Ports that were free on 127.0.0.1 a moment ago (bound to port 0 and released).
    public static func freePorts(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        return try (0..<count).map { _ in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            sockets.append(fd)
            guard let port = Self.bind(fd, port: 0) else {
                throw SocketError(description: "could not pick a free port: errno \(errno)")
            }
            return port
        }
    }

    /// A port `p` such that `p` and `p + 1` were free on 127.0.0.1 a moment ago, for a server that serves on a
    /// port and the next. It is taken below Linux's ephemeral range (32768 and up), where the ports that other
    /// tests' servers and clients get from the kernel never fall, so that no parallel test takes `p + 1` meanwhile.
    public static func freePortPair() throws -> Int {
        for _ in 0..<100 {
            let port = Int.random(in: 20_000..<32_000)
            let sockets = [
                socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0), socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0),
            ]
            defer { sockets.forEach { close($0) } }
            if Self.bind(sockets[0], port: port) != nil && Self.bind(sockets[1], port: port + 1) != nil { return port }
        }
        throw SocketError(description: "found no two free ports in a row below 32000")
    }

    /// Binds `fd` to 127.0.0.1:`port` (0: any); the port bound, or nil.
    private static func bind(_ fd: Int32, port: Int) -> Int? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                Glibc.bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }
}

/// Where the built `tandemd` and `tandemctl` are: beside the test bundle, in the package's build folder.
public enum Binaries {
    /// The build products directory.
    public static let directory: URL = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var candidate = exe.deletingLastPathComponent()
        while candidate.path != "/" {
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("tandemd").path) {
                return candidate
            }
            candidate = candidate.deletingLastPathComponent()
        }
        return exe.deletingLastPathComponent()
    }()

    /// The `tandemd` executable.
    public static var tandemd: URL { Self.directory.appendingPathComponent("tandemd") }
    /// The `tandemctl` executable.
    public static var tandemctl: URL { Self.directory.appendingPathComponent("tandemctl") }
}
