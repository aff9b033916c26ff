import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Users, groups and peer daemons for swarm tests: each user has a home `<directory>/<user>` with its session.
extension TestCluster {
    /// The password every test user gets.
    public static let testPassword = "pw-for-tests"

    /// The home directory of `user`.
    public func home(_ user: String) -> String { self.directory.appendingPathComponent(user).path }

    /// Creates `owner` and `members`, logs each in in its own home, and makes them a group owned by `owner`.
    public func makeGroup(_ group: String, owner: String, members: [String]) throws {
        for user in [owner] + members {
            try self.expectSuccess(
                ["create-user", user, "--password-stdin"], as: user, stdin: Self.testPassword + "\n")
            try self.expectSuccess(["login", user, "--password-stdin"], as: user, stdin: Self.testPassword + "\n")
        }
        try self.expectSuccess(["create-group", group], as: owner)
        for member in members {
            try self.expectSuccess(["join-group", group], as: member)
            try self.expectSuccess(["accept-request", group, member], as: owner)
        }
    }

    /// Runs `tandemctl` as `user` and throws unless it exits 0.
    @discardableResult
    public func expectSuccess(_ arguments: [String], as user: String, stdin: String? = nil) throws -> CommandResult {
        let result = try self.ctl(arguments, home: user, stdin: stdin)
        guard result.status == 0 else {
            throw SocketError(description: "tandemctl \(arguments.joined(separator: " ")) as \(user): \(result)")
        }
        return result
    }

    /// Creates the account `user` (password `pw`) and logs it in, in the home `home`; throws unless both succeed.
    public func signUp(_ user: String, home: String = "user") throws {
        for command in ["create-user", "login"] {
            let result = try self.ctl([command, user, "--password-stdin"], home: home, stdin: "pw\n")
            guard result.status == 0 else { throw SocketError(description: "tandemctl \(command) \(user): \(result)") }
        }
    }

    /// Starts `user`'s peer daemon on 127.0.0.1 and a free port, and waits until it takes commands.
    ///
    /// - Returns: the port it serves pieces on.
    @discardableResult
    public func startPeer(_ user: String, logLevel: String = "info", metricsPort: Int? = nil) throws -> Int {
        let log = "peer-\(user)"
        let before = self.log(log)
        let process = try self.launch(
            Binaries.tandemd,
            [
                "peer", "--config", self.configPath, "--home", self.home(user), "--host", "127.0.0.1", "--log-level",
                logLevel,
            ] + (metricsPort.map { ["--metrics-port", String($0)] } ?? []),
            log: log)
        return try eventually("\(user)'s peer daemon to start") { () -> Int? in
            guard process.isRunning else { throw SocketError(description: "the peer daemon exited: \(self.log(log))") }
            let text = String(self.log(log).dropFirst(before.count))
            guard text.contains("peer daemon serving"), let range = text.range(of: "peer.port=") else { return nil }
            return Int(text[range.upperBound...].prefix { $0.isNumber })
        }
    }

    /// Stops `user`'s peer daemon with `signal` and waits for it to exit; returns its exit status.
    @discardableResult
    public func stopPeer(_ user: String, signal: Int32 = SIGTERM) throws -> Int32 {
        try self.stop("peer-\(user)", signal: signal)
    }

    /// What `user`'s peer daemon logged.
    public func peerLog(_ user: String) -> String { self.log("peer-\(user)") }

    /// Writes `size` random bytes (from /dev/urandom) to `<directory>/<name>` and returns its path.
    public func writeFile(_ name: String, size: Int) throws -> String {
        let path = self.directory.appendingPathComponent(name).path
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let output = FileHandle(forWritingAtPath: path), let random = FileHandle(forReadingAtPath: "/dev/urandom")
        else { throw SocketError(description: "cannot create \(path)") }
        defer {
            try? output.close()
            try? random.close()
        }
        var left = size
        while left > 0 {
            let chunk = random.readData(ofLength: min(left, 4 << 20))
            output.write(chunk)
            left -= chunk.count
        }
        return path
    }
}
