import Foundation
import TandemTestKit
import Testing

/// The original README's walkthrough with the real `tandemctl`, plus its operator commands.
@Suite(.serialized)
struct CtlWalkthroughTests {
    static func json(_ result: CommandResult) throws -> [[String: String]] {
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        let rows = try #require(object as? [[String: Any]], "not a JSON array of objects: \(result.stdout)")
        return rows.map { $0.mapValues { "\($0)" } }
    }

    @Test func originalWalkthroughWithTandemctl() throws {
        let cluster = try TestCluster()
        try cluster.start()
        func alice(_ arguments: String..., stdin: String? = nil) throws -> CommandResult {
            try cluster.ctl(arguments, home: "alice", stdin: stdin)
        }
        func bob(_ arguments: String..., stdin: String? = nil) throws -> CommandResult {
            try cluster.ctl(arguments, home: "bob", stdin: stdin)
        }

        #expect(try alice("list-groups").status == 1, "a command before login is refused")
        #expect(try alice("create-user", "alice", "--password-stdin", stdin: "wonderland\n").status == 0)
        #expect(try alice("login", "alice", "--password-stdin", stdin: "wrong\n").status == 1)
        #expect(try alice("login", "alice", "--password-stdin", stdin: "wonderland\n").status == 0)
        let session = cluster.directory.appendingPathComponent("alice/session").path
        let mode = try FileManager.default.attributesOfItem(atPath: session)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try alice("whoami").stdout.contains("alice"))
        #expect(try alice("create-group", "readers").status == 0)
        #expect(try alice("create-group", "readers").status == 1)

        #expect(try bob("create-user", "bob", "--password-stdin", stdin: "builder\n").status == 0)
        #expect(try bob("login", "bob", "--password-stdin", stdin: "builder\n").status == 0)
        #expect(try Self.json(bob("list-groups", "--json")) == [["name": "readers", "membership": "none"]])
        #expect(try bob("join-group", "readers").status == 0)
        #expect(try bob("list-requests", "readers").status == 1, "only the owner lists requests")
        #expect(try Self.json(alice("list-requests", "readers", "--json")) == [["user": "bob"]])
        #expect(try alice("accept-request", "readers", "bob").status == 0)
        #expect(try Self.json(bob("list-groups", "--json")) == [["name": "readers", "membership": "member"]])
        #expect(try Self.json(bob("list-files", "readers", "--json")) == [])
        #expect(try bob("leave-group", "readers").status == 0)
        #expect(try bob("list-files", "readers").status == 1)
        #expect(try alice("logout").status == 0)
        #expect(try alice("whoami").status == 1)
    }

    @Test func shellTakesTheOriginalCommands() throws {
        let cluster = try TestCluster()
        try cluster.start()
        let script = """
            create_user erin pw
            login erin pw
            create_group studio
            list_groups
            frobnicate
            whoami
            """
        let result = try cluster.ctl(["shell"], home: "erin", stdin: script + "\n")
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("studio"))
        #expect(result.stdout.contains("erin"))
        #expect(result.stdout.contains("unknown command 'frobnicate'"))
        let history = try String(
            contentsOf: cluster.directory.appendingPathComponent("erin/shell_history"), encoding: .utf8)
        #expect(history.contains("create_group studio"))
        #expect(!history.contains("login erin pw"), "passwords stay out of the history")
    }

    @Test func quitWithTheSecretStopsTheTrackerAndItRestartsOnTheSamePortAtOnce() throws {
        let cluster = try TestCluster()
        try cluster.start(logLevel: "trace")
        #expect(try cluster.ctl(["create-user", "fay", "--password-stdin"], stdin: "pw\n").status == 0)
        let quit = try cluster.ctl(["quit", "t1"])
        #expect(quit.status == 0, "\(quit)")
        #expect(try cluster.waitForExit() == 0)
        let log = cluster.log("t1")
        #expect(log.contains("debug"), "the tracker logged at trace level")
        let secretText = String(decoding: cluster.secret, as: UTF8.self)
        let secretBytes = cluster.secret.prefix(8).map { "\($0)" }.joined(separator: ", ")
        #expect(!log.contains(secretText) && !log.contains(secretBytes), "the log shows the cluster secret")
        #expect(try cluster.ctl(["login", "fay", "--password-stdin"], stdin: "pw\n").status == 3)
        try cluster.start()
        #expect(try cluster.ctl(["login", "fay", "--password-stdin"], stdin: "pw\n").status == 0)
    }

    @Test func sigtermStopsCleanly() throws {
        let cluster = try TestCluster()
        try cluster.start()
        #expect(try cluster.stop(signal: SIGTERM) == 0)
        #expect(cluster.log("t1").contains("stopped; the WAL is flushed"))
    }

    @Test func badClusterFilesExitTwoNamingTheKey() throws {
        let cluster = try TestCluster(extraYAML: "limits: { max_line: 12 parsecs }")
        let ctl = try cluster.ctl(["list-groups"])
        #expect(ctl.status == 2, "\(ctl)")
        #expect(ctl.stderr.contains("limits.max_line"))
        let daemon = try TestCluster.run(
            Binaries.tandemd, ["tracker", "--config", cluster.configPath, "--id", "t1"], stdin: nil,
            in: cluster.directory)
        #expect(daemon.status == 2, "\(daemon)")
        #expect(daemon.stderr.contains("limits.max_line") && daemon.stderr.contains("line"))
    }
}
