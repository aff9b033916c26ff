import Foundation
import NIOCore
import Replica
import ReplicaCore
import Synchronization
import TandemTestKit
import Testing

/// The tracker pair with real processes: failover under load, a paused primary, FULLSYNC, the sync port's secret.
@Suite(.serialized)
struct PairFailoverTests {
    /// Fast failover, and no snapshots unless a test asks, so the logs hold every op for the exactly-once check.
    static let fastFailover = """
        replication:
          heartbeat: 50ms
          failover_timeout: 500ms
        """

    @Test func killingThePrimaryTwentyTimesUnderEightWritersLosesAndDuplicatesNothing() throws {
        let cluster = try TestCluster(extraYAML: Self.fastFailover)
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        try cluster.signUp("ada")

        let load = WriteLoad(cluster: cluster, writers: 8)
        load.start()
        defer { load.stop() }  // A test that fails early must not leave the writers running.
        var primary = "t1"
        for round in 1...20 {
            let backup = primary == "t1" ? "t2" : "t1"
            try cluster.waitForPair(primary: primary)
            let before = load.acknowledged.count
            _ = try eventually("writes to be acknowledged before kill \(round)") {
                load.acknowledged.count > before + 8 ? true : nil
            }
            try cluster.stop(primary, signal: SIGKILL)
            try cluster.waitForRole("primary", of: backup)
            try cluster.start(primary, alone: false)
            primary = backup
        }
        let acknowledged = load.stop()
        #expect(load.failures.isEmpty, "writes that failed: \(load.failures.prefix(5))")
        #expect(acknowledged.count > 20 * 8)

        // The user logged in before the first kill is still logged in, and every acknowledged write is on
        // both trackers, each read locally.
        let final = try cluster.waitForPair(primary: primary)
        let token = try cluster.sessionToken()
        for id in ["t1", "t2"] {
            try cluster.waitForApplied(id, through: final["last_seq"].flatMap(UInt64.init) ?? 0)
            let groups = try cluster.groups(on: id, token: token)
            let missing = acknowledged.subtracting(groups)
            #expect(missing.isEmpty, "\(id) lacks \(missing.count) acknowledged writes: \(missing.prefix(5))")
        }

        // Each acknowledged write is in each tracker's log exactly once, retries included.
        #expect(try cluster.stop("t1") == 0)
        #expect(try cluster.stop("t2") == 0)
        for id in ["t1", "t2"] {
            let counts = try cluster.createdGroups(inLogOf: id)
            let twice = counts.filter { $0.value > 1 }.map(\.key)
            #expect(twice.isEmpty, "\(id) applied writes twice: \(twice.prefix(5))")
            let absent = acknowledged.filter { counts[$0] == nil }
            #expect(absent.isEmpty, "\(id)'s log lacks acknowledged writes: \(absent.prefix(5))")
        }
    }

    @Test func aPrimaryPausedPastTheTimeoutStepsDownAndAcknowledgesNothingOnResume() throws {
        let cluster = try TestCluster(extraYAML: Self.fastFailover)
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        try cluster.signUp("bo")
        let token = try cluster.sessionToken()
        let paused = try LineSocket(port: cluster.clientPorts["t1"]!, timeout: .seconds(20))
        paused.send(line: "RESUME|\(token)")
        #expect(try paused.readLine() == "OK|bo")

        let pid = try #require(cluster.pid("t1"))
        kill(pid, SIGSTOP)
        // A write waits in the paused primary's socket; the backup takes over meanwhile and is written to.
        paused.send(line: "CREATE_GROUP|sent-to-the-paused")
        let promoted = try cluster.waitForRole("primary", of: "t2")
        #expect(promoted["epoch"] != nil)
        let direct = try LineSocket(port: cluster.clientPorts["t2"]!)
        direct.send(line: "RESUME|\(token)")
        #expect(try direct.readLine() == "OK|bo")
        direct.send(line: "CREATE_GROUP|after-promotion")
        #expect(try direct.readLine() == "OK")
        kill(pid, SIGCONT)

        // On resume the old primary learns of the higher epoch: it is backup now, at the new primary's epoch.
        let demoted = try cluster.waitForRole("backup", of: "t1")
        #expect(demoted["epoch"] == promoted["epoch"])
        let reply = try paused.readLine()
        let onT2 = try cluster.groups(on: "t2", token: token)
        if reply == "OK" {
            #expect(onT2.contains("sent-to-the-paused"), "the paused primary acknowledged a write the pair lost")
        } else {
            #expect(reply.hasPrefix("ERR|try_again|"), "\(reply)")
        }
        #expect(onT2.contains("after-promotion"))
        try cluster.waitForPair(primary: "t2")
        let last = try #require(cluster.status("t2")?["last_seq"].flatMap(UInt64.init))
        try cluster.waitForApplied("t1", through: last)
        #expect(try cluster.groups(on: "t1", token: token) == onT2)
    }

    @Test func aBackupRestartedAfterItsOpsWereTrimmedGetsAFullSync() throws {
        let cluster = try TestCluster(
            extraYAML: Self.fastFailover + "\nstorage:\n  snapshot_every_ops: 50\n")
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        try cluster.signUp("cy")
        let token = try cluster.sessionToken()
        #expect(try cluster.stop("t2") == 0)

        // Enough writes while the backup is away that the primary snapshots and deletes the segments it needs.
        let writer = try LineSocket(port: cluster.clientPorts["t1"]!)
        writer.send(line: "RESUME|\(token)")
        #expect(try writer.readLine() == "OK|cy")
        for index in 0..<400 {
            writer.send(line: "CREATE_GROUP|g\(index)")
            #expect(try writer.readLine() == "OK")
        }
        try cluster.start("t2", alone: false)
        let primary = try cluster.waitForPair(primary: "t1")
        #expect(cluster.log("t2").contains("installed the primary's snapshot"), "\(cluster.log("t2").suffix(2000))")
        try cluster.waitForApplied("t2", through: try #require(primary["last_seq"].flatMap(UInt64.init)))
        let groups = try cluster.groups(on: "t2", token: token)
        #expect(groups == Set((0..<400).map { "g\($0)" }))
    }

    @Test func afterBothStopTheNewestLogLeadsAndALoneTrackerWaitsUntilForced() throws {
        let cluster = try TestCluster(extraYAML: Self.fastFailover)
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        #expect(try cluster.ctl(["create-user", "ed", "--password-stdin"], stdin: "pw\n").status == 0)
        #expect(try cluster.stop("t1") == 0)
        try cluster.waitForRole("primary", of: "t2")
        #expect(try cluster.ctl(["create-user", "fay", "--password-stdin"], stdin: "pw\n").status == 0)
        #expect(try cluster.stop("t2") == 0)

        // t1 alone holds the older log: it waits for t2 and takes no writes.
        try cluster.start("t1", alone: false)
        let waiting = try cluster.waitForRole("waiting", of: "t1")
        #expect(waiting["reason"] != nil)
        let client = try LineSocket(port: cluster.clientPorts["t1"]!)
        client.send(line: "CREATE_USER|gus|pw")
        #expect(try client.readLine().hasPrefix("ERR|try_again|"))

        // With t2 back, the newer log (t2's) leads although t1 comes first in cluster.yaml.
        try cluster.start("t2", alone: false)
        let primary = try cluster.waitForPair(primary: "t2")
        try cluster.waitForApplied("t1", through: try #require(primary["last_seq"].flatMap(UInt64.init)))
        client.send(line: "LOGIN|fay|pw")
        #expect(try client.readLine().hasPrefix("OK|"), "t1 has t2's newer writes")

        // Both stop again; t1 alone is forced to lead, which tandemctl refuses without --force.
        #expect(try cluster.stop("t1") == 0)
        #expect(try cluster.stop("t2") == 0)
        try cluster.start("t1", alone: false)
        try cluster.waitForRole("waiting", of: "t1")
        let refused = try cluster.ctl(["promote", "t1"])
        #expect(refused.status != 0 && refused.stderr.contains("--force"), "\(refused)")
        #expect(try cluster.ctl(["promote", "t1", "--force"]).status == 0)
        try cluster.waitForRole("primary", of: "t1")
        #expect(try cluster.ctl(["create-user", "hal", "--password-stdin"], stdin: "pw\n").status == 0)
    }

    @Test func theOldPrimaryCutsWhatTheForcedPrimaryLacksAndKeepsItAside() throws {
        let cluster = try TestCluster(extraYAML: Self.fastFailover)
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        #expect(try cluster.ctl(["create-user", "ann", "--password-stdin"], stdin: "pw\n").status == 0)
        #expect(try cluster.stop("t2") == 0)
        // t1 waits out the failover timeout for its backup, then acknowledges alone: t2 never sees this op.
        #expect(try cluster.ctl(["create-user", "only-on-t1", "--password-stdin"], stdin: "pw\n").status == 0)
        #expect(try cluster.stop("t1") == 0)

        try cluster.start("t2", alone: false)
        try cluster.waitForRole("waiting", of: "t2")
        #expect(try cluster.ctl(["promote", "t2", "--force"]).status == 0)
        try cluster.waitForRole("primary", of: "t2")
        #expect(try cluster.ctl(["create-user", "ben", "--password-stdin"], stdin: "pw\n").status == 0)
        try cluster.start("t1", alone: false)
        let primary = try cluster.waitForPair(primary: "t2")
        try cluster.waitForApplied("t1", through: try #require(primary["last_seq"].flatMap(UInt64.init)))

        let client = try LineSocket(port: cluster.clientPorts["t1"]!)
        client.send(line: "LOGIN|only-on-t1|pw")
        #expect(try client.readLine().hasPrefix("ERR|auth_failed|"), "the cut op is no longer in t1's state")
        client.send(line: "LOGIN|ben|pw")
        #expect(try client.readLine().hasPrefix("OK|"))
        #expect(try cluster.stop("t1") == 0)
        #expect(try cluster.stop("t2") == 0)

        let log = try cluster.ctl(["log", "--tracker", "t1"])
        let cutLine = log.stdout.split(separator: "\n").first { $0.hasPrefix("cut at ") }
        #expect(cutLine?.contains(": 1 ops from seq ") == true, "\(log.stdout)")
        let file = try #require(cutLine?.split(separator: " ").last.map(String.init))
        let kept = try Data(contentsOf: cluster.directory.appendingPathComponent("data/t1/\(file)"))
        #expect(kept.range(of: Data("only-on-t1".utf8)) != nil, "the cut op is kept in \(file)")
    }

    @Test func eachTrackerServesItsRoleAsPrometheusMetrics() throws {
        let metrics = try TestCluster.freePortPair()  // t1 serves on the port, t2 on the next
        let cluster = try TestCluster(extraYAML: Self.fastFailover + "\nmetrics: { port: \(metrics) }\n")
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        // The backup's acknowledgement may trail waitForPair by a moment: wait for the steady state.
        let primary = try eventually("t1 to report its backup in sync") {
            (try? MetricsPage.get("/metrics", port: metrics)).flatMap {
                $0.contains("tandem_replica_backup_in_sync{tracker=\"t1\"} 1")
                    && $0.contains("tandem_replica_backup_lag_bytes{tracker=\"t1\"} 0") ? $0 : nil
            }
        }
        #expect(primary.hasPrefix("HTTP/1.1 200 OK"), "\(primary)")
        #expect(primary.contains("tandem_replica_role{tracker=\"t1\",role=\"primary\"} 1"), "\(primary)")
        let backup = try eventually("t2 to serve its metrics") { try? MetricsPage.get("/metrics", port: metrics + 1) }
        #expect(backup.contains("tandem_replica_role{tracker=\"t2\",role=\"backup\"} 1"), "\(backup)")
        #expect(try MetricsPage.get("/nothing", port: metrics).hasPrefix("HTTP/1.1 404"))

        #expect(try cluster.stop("t2") == 0)
        _ = try eventually("t1 to report serving alone") {
            try MetricsPage.get("/metrics", port: metrics).contains("tandem_replica_serving_alone{tracker=\"t1\"} 1")
                ? true : nil
        }
        _ = try eventually("t1 to say so in its log") {
            cluster.log("t1").contains("this primary acknowledges writes alone") ? true : nil
        }
        #expect(cluster.status("t1")?["backup"] == "none", "and in STATUS")
    }

    @Test func theSyncPortRefusesAPeerWithoutTheSecret() throws {
        let cluster = try TestCluster(extraYAML: Self.fastFailover)
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        let syncPort = try #require(cluster.syncPorts["t1"])

        // Garbage: an oversized first frame. The connection is closed.
        let garbage = try LineSocket(port: syncPort)
        garbage.send(Array(repeating: 0xFF, count: 64))
        try garbage.waitForClose()

        // A well-formed handshake from a peer with the wrong secret: t1 proves itself, the peer's proof fails.
        let (_, greeting) = SyncHandshake.dialer(
            secret: Array("not the cluster secret".utf8), node: 1, nonce: Array(repeating: 7, count: 32))
        let impostor = try LineSocket(port: syncPort)
        impostor.send(Self.bytes { $0.writeSyncAuthFrame(greeting) })
        let length = try impostor.read(exactly: 4).reduce(0) { $0 << 8 | Int($1) }
        #expect(length == 1 + 2 * SyncHandshake.nonceLength, "t1 answers with its challenge")
        _ = try impostor.read(exactly: length)
        impostor.send(Self.bytes { $0.writeSyncAuthFrame(.proof(Array(repeating: 9, count: 32))) })
        try impostor.waitForClose()
        _ = try eventually("t1 to log the refused sync peer") {
            cluster.log("t1").contains("refused a sync connection") ? true : nil
        }

        // The pair is untouched: still connected, the backup in sync, and writes go through.
        let status = try cluster.waitForPair(primary: "t1")
        #expect(status["peer"] == "connected")
        #expect(try cluster.ctl(["create-user", "di", "--password-stdin"], stdin: "pw\n").status == 0)
    }

    private static func bytes(_ write: (inout ByteBuffer) -> Int) -> [UInt8] {
        var buffer = ByteBuffer()
        _ = write(&buffer)
        return Array(buffer.readableBytesView)
    }
}
