import Foundation

/// Test hosts on this machine: network namespaces on one bridge, each with its own `/etc/tandem`,
/// `/var/lib/tandem` and `/usr/local/bin` (`scripts/rig`). Torn down by ``tearDown()``, and at the latest when
/// the rig is released.
public final class Rig: @unchecked Sendable {
    /// The rig's name: its hosts are `<name>-h1` and on.
    public let name: String
    /// How many hosts it has, numbered from 1.
    public let hosts: Int
    private var isUp = true
    private var processes: [ChildProcess] = []

    /// Why rig tests cannot run here, or nil when they can: they need root and network namespaces.
    public static let unavailableReason: String? = {
        guard getuid() == 0 else { return "the rig needs root (network namespaces, bridges, mounts)" }
        guard
            FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
                || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
        else { return "the rig needs iproute2's ip" }
        return nil
    }()

    /// The checkout these tests were built from (where `scripts/` is).
    public static let checkout: URL = {
        var directory = Binaries.directory
        while directory.path != "/" {
            if FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("scripts/rig").path) {
                return directory
            }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    /// `scripts/rig` in ``checkout``.
    static var script: URL { Self.checkout.appendingPathComponent("scripts/rig") }

    /// Brings up `hosts` hosts, with the binaries of this build installed on each unless `installingBinaries` is
    /// false (a deploy installs them).
    public init(hosts: Int, installingBinaries: Bool = true) throws {
        self.name = "r" + String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        self.hosts = hosts
        try Self.rig(["up", self.name, String(hosts)])
        for host in 1...hosts where installingBinaries {
            try Self.rig(["install", self.name, String(host), Binaries.tandemd.path, Binaries.tandemctl.path])
        }
    }

    deinit { self.tearDown() }

    /// Host `host`'s address.
    public func address(_ host: Int) throws -> String {
        try Self.rig(["address", self.name, String(host)]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Where host `host`'s `/etc/tandem` is seen from this machine.
    public func etc(_ host: Int) -> URL {
        URL(fileURLWithPath: "/run/tandem-rig/\(self.name)/h\(host)/etc")
    }

    /// Where host `host`'s `/usr/local/bin` is seen from this machine.
    public func bin(_ host: Int) -> URL {
        URL(fileURLWithPath: "/run/tandem-rig/\(self.name)/h\(host)/bin")
    }

    /// Where host `host`'s `/etc/systemd/system` is seen from this machine.
    public func units(_ host: Int) -> URL {
        URL(fileURLWithPath: "/run/tandem-rig/\(self.name)/h\(host)/units")
    }

    /// The ssh_config that reaches the hosts as root, by name (`<name>-h1`) or address.
    public var sshConfig: URL { URL(fileURLWithPath: "/run/tandem-rig/\(self.name)/ssh_config") }

    /// Where host `host`'s `/var/lib/tandem` is seen from this machine.
    public func varLib(_ host: Int) -> URL {
        URL(fileURLWithPath: "/run/tandem-rig/\(self.name)/h\(host)/var")
    }

    /// Runs `arguments` on `host` and waits for it.
    @discardableResult
    public func run(_ host: Int, _ arguments: [String], stdin: String? = nil) throws -> CommandResult {
        try Self.run(Self.script, ["exec", self.name, String(host)] + arguments, stdin: stdin)
    }

    /// Starts `arguments` on `host` in the background, its output appended to `log`; its process id is the
    /// command's own (it can be killed directly).
    @discardableResult
    public func launch(_ host: Int, _ arguments: [String], log: URL) throws -> ChildProcess {
        let output = open(log.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw SocketError(description: "cannot open \(log.path): errno \(errno)") }
        defer { close(output) }
        let input = try ScratchFile()
        let process = try ChildProcess(
            Self.script, ["exec", self.name, String(host)] + arguments, in: FileManager.default.temporaryDirectory,
            environment: ProcessInfo.processInfo.environment, input: input.descriptor, output: output, error: output)
        self.processes.append(process)
        return process
    }

    /// Shapes host `host`'s link, both ways, to `rate` (tc's notation: `100mbit`) with `delay` more latency (where
    /// the kernel has netem; the rate alone otherwise).
    public func shape(_ host: Int, rate: String, delay: String = "0ms") throws {
        try Self.rig(["shape", self.name, String(host), rate, delay])
    }

    /// Kills every process on the hosts and removes the rig.
    public func tearDown() {
        guard self.isUp else { return }
        self.isUp = false
        _ = try? Self.rig(["down", self.name])
        // `down` killed them; should it have failed, they are killed here.
        for process in self.processes { process.kill() }
    }

    @discardableResult
    private static func rig(_ arguments: [String]) throws -> String {
        let result = try Self.run(Self.script, arguments, stdin: nil)
        guard result.status == 0 else {
            throw SocketError(description: "scripts/rig \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result.stdout
    }

    private static func run(_ executable: URL, _ arguments: [String], stdin: String?) throws -> CommandResult {
        try TestCluster.run(executable, arguments, stdin: stdin, in: FileManager.default.temporaryDirectory)
    }
}
