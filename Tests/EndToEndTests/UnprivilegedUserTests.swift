import Foundation
import TandemTestKit
import Testing

/// tandemctl and the peer daemon as an account without privileges, as users run them. Before the fix, every
/// connection set `SO_DEBUG` (TCP_NODELAY's number at the socket level), which only root may: run by anyone
/// else, tandemctl reached no tracker and the peer daemon no peer.
@Suite struct UnprivilegedUserTests {
    @Test(.enabled(if: geteuid() == 0, "needs root to run commands as another account"))
    func anAccountWithoutPrivilegesReachesTheTrackerAndShares() throws {
        let cluster = try TestCluster(pieceSize: "64KiB")
        try cluster.start()
        let home = cluster.directory.appendingPathComponent("nobody-home").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let files = cluster.directory.appendingPathComponent("nobody-files").path
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        for path in [cluster.directory.path, home, files] {
            guard chmod(path, 0o755) == 0 else { throw SocketError(description: "chmod \(path): errno \(errno)") }
        }
        for path in [home, files] {
            guard chown(path, 65534, 65534) == 0 else {
                throw SocketError(description: "chown \(path): errno \(errno)")
            }
        }
        let contents = Data((0..<(300 << 10)).map { _ in UInt8.random(in: 0...255) })
        let path = files + "/notes.bin"
        try contents.write(to: URL(fileURLWithPath: path))
        guard chown(path, 65534, 65534) == 0 else { throw SocketError(description: "chown: errno \(errno)") }

        func asNobody(_ arguments: [String], stdin: String? = nil) throws -> CommandResult {
            try TestCluster.run(
                URL(fileURLWithPath: "/usr/sbin/runuser"),
                ["-u", "nobody", "--", Binaries.tandemctl.path] + arguments + [
                    "--config", cluster.configPath, "--home", home,
                ],
                stdin: stdin, in: cluster.directory)
        }
        for command in [["create-user", "nora", "--password-stdin"], ["login", "nora", "--password-stdin"]] {
            let result = try asNobody(command, stdin: "pw\n")
            #expect(result.status == 0, "\(result)")
        }
        #expect(try asNobody(["create-group", "night"]).status == 0)
        // The peer daemon tandemctl starts runs as nobody too, and serves the file.
        let shared = try asNobody(["share", "night", path])
        #expect(shared.status == 0, "\(shared)")
        defer { _ = try? asNobody(["stop-peer"]) }
        let listed = try asNobody(["list-files", "night", "--json"])
        #expect(listed.stdout.contains("\"seeders\":1"), "\(listed)")
    }
}
